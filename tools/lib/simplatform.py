# SPDX-License-Identifier: MIT
"""SimGrid platform files and hostfiles for tools/simulate, and its CSV writer.

cluster(): N hosts of one rank each in a two-level fat tree (SimGrid's FAT_TREE cluster):
leaves of d = 2^ceil(log2(sqrt(N))) hosts, N / d leaves, d spines, every leaf linked once to
every spine (full bisection). Each link has the given bandwidth and latency, so a message
crosses 2 links inside a leaf and 4 between leaves. Small N (< 4) or star=True: one switch
(SimGrid's flat cluster: a private link per host and a backbone), the emulated cluster's
shape (tools/cluster: hosts behind one switch)."""
import csv
import math

CSV_FIELDS = ["app", "mode", "ranks", "grid", "tile", "channels", "iterations", "ms_per_iter",
              "efficiency", "wall_s", "max_rss_mb", "platform"]


def fat_tree_params(n):
    """(leaf size d, number of leaves) for n hosts; n must be d * leaves with d a power of 2."""
    d = 1
    while d * d < n:
        d *= 2
    if n % d:
        raise ValueError(f"{n} hosts do not fill leaves of {d}")
    return d, n // d


def cluster(n, bw="100Gbps", lat="0.5us", star=False, speed="1Gf"):
    """Platform XML (SimGrid v4.1) for n hosts named node0..node{n-1}."""
    if n < 1:
        raise ValueError("at least one host")
    head = ("<?xml version='1.0'?>\n"
            "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
            "<platform version=\"4.1\">\n<zone id=\"AS0\" routing=\"Full\">\n")
    tail = "</zone>\n</platform>\n"
    attrs = (f'id="cluster" prefix="node" suffix="" radical="0-{n - 1}" speed="{speed}" '
             f'bw="{bw}" lat="{lat}"')
    if star or n < 4:
        # One switch: a private link per host (its port) and a backbone that never limits.
        body = f'  <cluster {attrs} bb_bw="{_scale(bw, n)}" bb_lat="0us"/>\n'
    else:
        d, leaves = fat_tree_params(n)
        body = (f'  <cluster {attrs} topology="FAT_TREE" '
                f'topo_parameters="2;{d},{leaves};1,{d};1,1"/>\n')
    return head + body + tail


def _scale(bw, n):
    """bw times n (for a backbone as wide as every port together)."""
    num = "".join(c for c in bw if c.isdigit() or c == ".")
    unit = bw[len(num):]
    return f"{float(num) * n:g}{unit}"


def hostfile(n):
    return "".join(f"node{i}\n" for i in range(n))


def write_csv(path, rows):
    """rows: dicts with CSV_FIELDS keys (missing ones left empty)."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def square_side(n):
    s = math.isqrt(n)
    if s * s != n:
        raise ValueError(f"{n} ranks are not a square grid")
    return s
