#!/usr/bin/env python3
"""Which functions the traced call ran, with their code lines and pages.

    by_function.py BINARY < /tmp/fp-addrs.txt

The probe prints the address valgrind loaded the traced function at; the
difference from its address in the binary is the load offset."""
import bisect
import collections
import subprocess
import sys

binary = sys.argv[1]
lines = sys.stdin.read().split("\n")
loaded = int(lines[0].split()[1], 16)
symbols = []
for line in subprocess.run(["nm", "-C", "-n", "--defined-only", binary],
                           capture_output=True, text=True).stdout.splitlines():
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[1] in "tTwW":
        symbols.append((int(parts[0], 16), parts[2]))
starts = [s[0] for s in symbols]
marker = next(a for a, name in symbols if name.endswith("workload::billed"))
offset = loaded - marker
functions = collections.OrderedDict()
for line in lines:
    if not line.startswith("I "):
        continue
    address = int(line.split()[1], 16)
    name = symbols[bisect.bisect_right(starts, address - offset) - 1][1]
    entry = functions.setdefault(name, [0, set(), set()])
    entry[0] += 1
    entry[1].add(address >> 6)
    entry[2].add(address >> 12)
for name, (instructions, code_lines, pages) in functions.items():
    print(f"{instructions:4d} instructions {len(code_lines):3d} lines "
          f"{len(pages)} page(s) {sorted(hex(p << 12) for p in pages)} {name[:100]}")
