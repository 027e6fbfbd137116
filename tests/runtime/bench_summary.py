#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Median per (size, halo, channels, config) of bench_launch.sh output, as a Markdown table.

starpu_us / raw_us: runtime vs the in-run raw loop; vs_raw_only: runtime vs the median of the
raw-only runs (no StarPU in the process) with the same parts and ranks."""
import re
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
for line in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if "size" not in kv:
        continue
    key = (int(kv["size"]), int(kv["halo"]), int(kv["channels"]))
    runs[(key, kv["config"], int(kv["parts"]), int(kv["ranks"]))].append(kv)

def med(rows, field):
    vals = [float(r[field]) for r in rows if field in r]
    return statistics.median(vals) if vals else None

raw = {}
for (key, cfg, parts, ranks), rows in runs.items():
    if cfg.startswith("raw"):
        raw[(key, parts)] = med(rows, "raw_only_us")

print("| image | halo | C | msg KiB | config | runs | runtime µs | raw-only µs (same parts) | ratio | in-run raw µs | in-run ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (key, cfg, parts, ranks), rows in sorted(runs.items()):
    size, halo, ch = key
    kib = int(rows[0]["max_msg_bytes"]) / 1024
    if cfg.startswith("raw"):
        print(f"| {size}² | {halo} | {ch} | {kib:.0f} | {cfg} ({ranks} ranks) | {len(rows)} | – | {raw[(key, parts)]:.1f} | – | – | – |")
        continue
    t = med(rows, "starpu_us")
    r = raw.get((key, parts))
    ratio = f"{t / r:.2f}" if r else "–"
    rs = f"{r:.1f}" if r else "–"
    print(f"| {size}² | {halo} | {ch} | {kib:.0f} | {cfg} | {len(rows)} | {t:.1f} | {rs} | {ratio} "
          f"| {med(rows, 'raw_us'):.1f} | {med(rows, 'ratio'):.2f} |")
