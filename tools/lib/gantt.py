#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""@file gantt.py
@brief A Gantt chart (PNG) of a converted StarPU trace, to look at without ViTE.

Usage: /usr/bin/python3 tools/lib/gantt.py [--align links|starpu] [--exclude RE] [-o PNG] DIR

DIR is what tools/trace writes (tasks.rec, paje.trace). One row per worker of each rank, its
tasks as bars colored by codelet name; under a rank's workers, one row with its transfers:
direct-transport sends and receives (starhalo_xfer events) and the StarPU-MPI links the rank
sends or receives, stacked in lanes where they overlap. Times are in ms on the clocks that
tools/overlap-report uses (same --align; default links), whose parsing this reuses; the title
of each rank gives the share of its transfer time covered by compute (tasks not matching
--exclude, default pack|unpack). Default output: DIR/gantt.png. Needs matplotlib (Debian:
python3-matplotlib, installed by tools/install-deps), hence /usr/bin/python3.
"""
import argparse
import importlib.machinery
import importlib.util
import os
import sys

PROG = "gantt"
HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "..", "overlap-report")

XFER_COLORS = {"direct send": "#d62728", "direct recv": "#1f77b4", "starpu-mpi": "#7f7f7f"}


def load_report():
    loader = importlib.machinery.SourceFileLoader("overlap_report", REPORT)
    spec = importlib.util.spec_from_loader("overlap_report", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def lanes(spans):
    """Greedy lane per span (sorted by start) so that spans in one lane do not overlap."""
    ends, out = [], []
    for s, e, kind in sorted(spans):
        for i, end in enumerate(ends):
            if end <= s:
                ends[i] = e
                out.append((i, s, e, kind))
                break
        else:
            ends.append(e)
            out.append((len(ends) - 1, s, e, kind))
    return out, max(len(ends), 1)


def load(directory, align, exclude):
    rep = load_report()
    tasks = rep.read_tasks(os.path.join(directory, "tasks.rec"))
    paje = os.path.join(directory, "paje.trace")
    links, names, xfers = rep.read_paje(paje) if os.path.isfile(paje) else ([], {}, [])
    direct, unpaired = rep.pair_direct(xfers)
    offsets = rep.estimate_offsets(links) if align == "links" else {}
    tasks, links, direct = rep.apply_offsets(tasks, links, offsets, direct)
    summary = rep.report(tasks, links, names, exclude, direct, unpaired)
    return tasks, links, names, direct, summary


def rows_of(tasks, links, names, direct, summary):
    """[(label, kind, spans)]: kind "worker" spans (start, end, codelet), kind "xfer" spans
    (start, end, transfer kind); ranks in order, each rank's workers then its transfers."""
    rows = []
    for r in summary:
        rank = r["rank"]
        for w in sorted({t["worker"] for t in tasks if t["rank"] == rank}):
            spans = [(t["start"], t["end"], t["name"]) for t in tasks
                     if t["rank"] == rank and t["worker"] == w]
            rows.append((names.get((rank, w)) or "%d_w%d" % (rank, w), "worker", spans))
        spans = [(x["start"], x["end"], "direct send" if x["send"] else "direct recv")
                 for x in direct if x["rank"] == rank]
        spans += [(l["start"], l["end"], "starpu-mpi") for l in links
                  if rank in (l["src"], l["dst"]) and l["end"] >= l["start"]]
        rows.append(("%d transfers" % rank, "xfer", spans))
    return rows


def draw(rows, summary, title, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    # One color per codelet, the busiest first: tab20 without the blues and reds that the
    # transfers use, then tab20b when there are more.
    busy = {}
    for _, kind, spans in rows:
        if kind == "worker":
            for s, e, name in spans:
                busy[name] = busy.get(name, 0.0) + (e - s)
    order = sorted(busy, key=lambda n: (-busy[n], n))
    tab20 = plt.get_cmap("tab20").colors
    palette = [c for i, c in enumerate(tab20) if i not in (0, 1, 6, 7)]
    palette += list(plt.get_cmap("tab20b").colors)
    color = {n: palette[i % len(palette)] for i, n in enumerate(order)}

    height = 0.8
    fig, ax = plt.subplots(figsize=(13, 1.2 + 0.42 * len(rows)))
    labels = []
    for y, (label, kind, spans) in enumerate(rows):
        labels.append(label)
        if kind == "worker":
            by_name = {}
            for s, e, name in spans:
                by_name.setdefault(name, []).append((s, max(e - s, 1e-6)))
            for name, bars in by_name.items():
                ax.broken_barh(bars, (y - height / 2, height), facecolors=color[name],
                               edgecolor="none")
        else:
            placed, n = lanes(spans)
            h = height / n
            for lane, s, e, k in placed:
                ax.broken_barh([(s, max(e - s, 1e-6))], (y - height / 2 + lane * h, h * 0.9),
                               facecolors=XFER_COLORS[k], edgecolor="none", alpha=0.85)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("time (ms)")
    ax.grid(axis="x", alpha=0.3)
    shares = "; ".join("rank %d: %d transfers, %s covered by compute"
                       % (r["rank"], r["transfers"],
                          "n/a" if r["overlap_share"] is None
                          else "%.1f %%" % (100 * r["overlap_share"])) for r in summary)
    ax.set_title("%s\n%s" % (title, shares), fontsize=9)
    kinds = sorted({k for _, kind, spans in rows if kind == "xfer" for _, _, k in spans})
    handles = [Patch(color=color[n], label=n) for n in order[:24]]
    handles += [Patch(color=XFER_COLORS[k], label=k) for k in kinds]
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0),
                  borderaxespad=0.0, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[1][7:])
    ap.add_argument("dir", help="folder with tasks.rec and paje.trace (from tools/trace)")
    ap.add_argument("-o", "--output", help="PNG to write (default: DIR/gantt.png)")
    ap.add_argument("--align", choices=("links", "starpu"), default="links",
                    help="clock alignment between ranks, as tools/overlap-report")
    ap.add_argument("--exclude", default="pack|unpack",
                    help="regex of task names that are not compute, for the covered shares")
    args = ap.parse_args(argv)
    if not os.path.isfile(os.path.join(args.dir, "tasks.rec")):
        print("%s: error: %s not found (run tools/trace first)"
              % (PROG, os.path.join(args.dir, "tasks.rec")), file=sys.stderr)
        return 1
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("%s: error: %s has no matplotlib (apt-get install python3-matplotlib, or "
              "tools/install-deps)" % (PROG, sys.executable), file=sys.stderr)
        return 1
    out = args.output or os.path.join(args.dir, "gantt.png")
    tasks, links, names, direct, summary = load(args.dir, args.align, args.exclude)
    rows = rows_of(tasks, links, names, direct, summary)
    draw(rows, summary, os.path.basename(os.path.abspath(args.dir)), out)
    print("%s: wrote %s (%d rows)" % (PROG, out, len(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
