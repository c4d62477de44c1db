#!/usr/bin/env python3
"""Distinct cache lines and pages one call touches, from lackey's trace.

stdin: valgrind --tool=lackey --trace-mem=yes output (stderr), with the
probe's MARKERS line. Prints, per marked call: instructions, code lines,
code pages, data lines, data pages (stack apart). With -v, also the pages
of the last call, and its addresses into /tmp/fp-addrs.txt (for
by_function.py)."""
import sys
begin = end = None
calls, cur = [], None
for line in sys.stdin:
    if line.startswith("MARKERS"):
        m = dict(kv.split("=") for kv in line.split()[1:])
        begin, end = int(m["begin"], 16), int(m["end"], 16)
        fn_addr = int(m["fn"], 16)
        continue
    if begin is None or len(line) < 3:
        continue
    kind = line[:2].strip()
    if kind not in ("I", "L", "S", "M"):
        continue
    try:
        addr_s, size_s = line[2:].strip().split(",")
        addr = int(addr_s, 16)
    except ValueError:
        continue
    if kind == "L" and addr == begin:
        cur = {"I": [], "D": []}
        continue
    if kind == "L" and addr == end and cur is not None:
        calls.append(cur)
        cur = None
        continue
    if cur is not None:
        (cur["I"] if kind == "I" else cur["D"]).append((addr, int(size_s)))
for n, c in enumerate(calls):
    il = {a >> 6 for a, _ in c["I"]}
    ip = {a >> 12 for a, _ in c["I"]}
    stack = [a for a, _ in c["D"] if a >= 0x1000000000]
    heap = [a for a, _ in c["D"] if a < 0x1000000000]
    dl = {a >> 6 for a, _ in c["D"]}
    dp = {a >> 12 for a, _ in c["D"]}
    print(f"call {n}: instr {len(c['I'])} code lines {len(il)} code pages {len(ip)} "
          f"data accesses {len(c['D'])} data lines {len(dl)} data pages {len(dp)} "
          f"(stack-ish pages {len({a>>12 for a in stack})}, other pages {len({a>>12 for a in heap})})")
    if "-v" in sys.argv and n == len(calls) - 1:
        with open("/tmp/fp-addrs.txt", "w") as out:
            out.write(f"fn {fn_addr:x}\n")
            seen = set()
            for a, _ in c["I"]:
                if a not in seen:
                    seen.add(a)
                    out.write(f"I {a:x}\n")
            for a, s in c["D"]:
                out.write(f"D {a:x} {s}\n")
        print("code pages:", sorted(hex(p << 12) for p in ip))
        print("data pages:", sorted(hex(p << 12) for p in dp))
