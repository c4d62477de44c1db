#!/usr/bin/env python3
"""Reads raw.txt (run.sh's output) and prints the table BENCHMARKS.md shows:
per setting, the chunks' wall and CPU time per call, and the wall time lost
per call (wall − CPU) by how many times the caller was preempted."""
import os
import re
import statistics

LINE = re.compile(r"round \d+: wall (\d+) ns/call, cpu (\d+) ns/call, vol \d+ invol (\d+)")
groups, current = {}, None
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "raw.txt")) as f:
    for line in f:
        if line.startswith("#"):
            current = "database on both cores" if "both" in line else "database pinned to core 1"
        elif (m := LINE.match(line)) and current:
            groups.setdefault(current, []).append(tuple(int(x) for x in m.groups()))


def spread(values):
    return f"{statistics.median(values):g} ({min(values)}–{max(values)})"


print("| setting | chunks | wall ns/call | own CPU ns/call | wall − CPU, by preemptions in the chunk: 0 / 1 / 2 / 3 / 4+ |")
print("|---|---:|---:|---:|---|")
for name, chunks in groups.items():
    by = {}
    for wall, cpu, preempted in chunks:
        by.setdefault(min(preempted, 4), []).append(wall - cpu)
    gaps = " / ".join(
        f"{statistics.median(by[n]):g} ns ({len(by[n])})" if n in by else "–" for n in range(5)
    )
    print(
        f"| {name} | {len(chunks)} | {spread([c[0] for c in chunks])} | "
        f"{spread([c[1] for c in chunks])} | {gaps} |"
    )
