# SPDX-License-Identifier: MIT
"""Plots of tools/scale's scale.csv: time per iteration, parallel efficiency and exchange share
against the host count, one panel per scaling kind (rows) and app (columns), a line per
variant and parts per rank. Every figure says what is emulated (the network) and what is not
(the cores, shared by all hosts).

usage: /usr/bin/python3 tools/lib/scale_plot.py scale.csv OUTDIR
Writes OUTDIR/scale-time.png, scale-efficiency.png, scale-exchange.png. Exits 3 when
matplotlib is missing (Debian: apt-get install python3-matplotlib)."""
import csv
import math
import os
import sys

import mplot

LABELS = {"task": "starhalo task", "bsp": "StarPU BSP", "raw": "raw MPI BSP"}
COLORS = {"task": "tab:blue", "bsp": "tab:orange", "raw": "tab:green"}
STYLES = ["-", "--", ":", "-."]
APP_NAMES = {"heat2d": "heat2d (5-point)", "conv": "halo_bench conv", "cnn": "spatial_cnn"}


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def grid(plt, rows, apps, scalings, title):
    fig, axes = plt.subplots(len(scalings), len(apps), figsize=(max(4.6 * len(apps), 10),
                                                                  3.6 * len(scalings) + 0.8),
                             squeeze=False)
    r0 = rows[0]
    c = r0["ncores"]
    dil = (f"time dilation: with H > {c} hosts, links at {r0['rate']} x {c}/H and times / (H/{c})"
           if r0.get("dilated") == "1" else f"no time dilation: above {c} hosts the cores are "
           "time-shared in these times")
    fig.suptitle(f"{title}\nnetwork emulated (netns hosts, tbf {r0['rate']} per link direction); "
                 f"cores NOT: all hosts share {c} cores (host i on core i mod {c})\n{dil}",
                 fontsize="small")
    return fig, axes


def panels(rows, apps, scalings):
    for i, s in enumerate(scalings):
        for j, a in enumerate(apps):
            yield i, j, s, a, [r for r in rows if r["scaling"] == s and r["app"] == a]


def lines(sub, variants):
    """(variant, parts per rank, hosts[], rows[]) per line."""
    for v in variants:
        for k, ppr in enumerate(sorted({int(r["parts_per_rank"]) for r in sub})):
            pts = sorted((int(r["hosts"]), r) for r in sub
                         if r["variant"] == v and int(r["parts_per_rank"]) == ppr)
            if pts:
                yield v, ppr, STYLES[k % len(STYLES)], [h for h, _ in pts], [r for _, r in pts]


def finish(fig, axes, ylabel, path, hosts):
    for ax in axes.flat:
        ax.set_xscale("log", base=2)
        ax.set_xticks(hosts)
        ax.set_xticklabels([str(h) for h in hosts])
        ax.minorticks_off()
        ax.set_xlabel("emulated hosts (1 rank each)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", linewidth=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="x-small")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, dpi=110)


def plot(csv_path, out):
    plt = mplot.pyplot("scale_plot")
    if plt is None:
        return 3

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        print(f"scale_plot: {csv_path} has no rows", file=sys.stderr)
        return 1
    apps = [a for a in ("heat2d", "conv", "cnn") if any(r["app"] == a for r in rows)]
    scalings = [s for s in ("weak", "strong") if any(r["scaling"] == s for r in rows)]
    hosts = sorted({int(r["hosts"]) for r in rows})

    fig, axes = grid(plt, rows, apps, scalings, "Time per iteration (median over rounds)")
    for i, j, s, a, sub in panels(rows, apps, scalings):
        ax = axes[i][j]
        for v, ppr, ls, hs, rs in lines(sub, LABELS):
            ax.errorbar(hs, [num(r["ms"]) for r in rs],
                        yerr=[[num(r["ms"]) - num(r["ms_min"]) for r in rs],
                              [num(r["ms_max"]) - num(r["ms"]) for r in rs]],
                        color=COLORS[v], linestyle=ls, marker="o", capsize=2,
                        label=f"{LABELS[v]}, {ppr} part/rank")
        ax.set_title(f"{s} scaling: {APP_NAMES[a]}", fontsize="small")
    finish(fig, axes, "ms per iteration", os.path.join(out, "scale-time.png"), hosts)

    fig, axes = grid(plt, rows, apps, scalings, "Parallel efficiency: T(1) / T(H) weak, "
                     "T(1) / (H T(H)) strong, each variant against its own 1-host time")
    for i, j, s, a, sub in panels(rows, apps, scalings):
        ax = axes[i][j]
        for v, ppr, ls, hs, rs in lines(sub, LABELS):
            ax.plot(hs, [num(r["efficiency"]) for r in rs], color=COLORS[v], linestyle=ls,
                    marker="o", label=f"{LABELS[v]}, {ppr} part/rank")
        ax.axhline(1.0, color="black", linewidth=0.6)
        ax.set_ylim(0, 1.5)
        ax.set_title(f"{s} scaling: {APP_NAMES[a]}", fontsize="small")
    finish(fig, axes, "efficiency", os.path.join(out, "scale-efficiency.png"), hosts)

    ex_apps = [a for a in apps if a != "cnn"] or apps
    fig, axes = grid(plt, rows, ex_apps, scalings, "Exchange share (exchange alone / task "
                     "iteration)\nand hidden part of it ((T_bsp - T_task) / T_exchange)")
    for i, j, s, a, sub in panels(rows, ex_apps, scalings):
        ax = axes[i][j]
        for v, ppr, ls, hs, rs in lines(sub, ("task",)):
            keep = [(h, r) for h, r in zip(hs, rs) if h > 1]
            if not keep:
                continue
            ax.plot([h for h, _ in keep], [num(r["exchange_share"]) for _, r in keep],
                    color="tab:red", linestyle=ls, marker="o", label=f"exchange share, {ppr} p/r")
            ax.plot([h for h, _ in keep], [num(r["hidden_fraction"]) for _, r in keep],
                    color="tab:blue", linestyle=ls, marker="s", label=f"hidden, {ppr} p/r")
        ax.set_ylim(0, 1.1)
        ax.set_xlim(min(hosts) * 0.9, max(hosts) * 1.1)
        ax.set_title(f"{s} scaling: {APP_NAMES[a]}", fontsize="small")
    finish(fig, axes, "fraction", os.path.join(out, "scale-exchange.png"), hosts)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    sys.exit(plot(sys.argv[1], sys.argv[2]))
