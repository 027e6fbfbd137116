# SPDX-License-Identifier: MIT
"""Bar chart of tools/bench-overlap's ratios T_iter / max(T_comp, T_comm): one panel per host
count, per message size a bar for the task mode, StarPU BSP and raw MPI BSP, and the task mode
against its own compute time on unshaped links (median, whiskers min..max over rounds), lines at 1 (full overlap), 1.15 (target) and 2 (none).

usage: /usr/bin/python3 tools/lib/overlap_plot.py results/bench-overlap-<UTC>.csv out.png
Exits 3 when matplotlib is missing (Debian: apt-get install python3-matplotlib)."""
import csv
import sys

import mplot

BARS = (("task", "task mode"), ("bsp", "StarPU BSP"), ("raw", "raw MPI BSP"),
        ("task_own", "task mode vs its own compute"))


def plot(csv_path, png_path):
    plt = mplot.pyplot("overlap_plot")
    if plt is None:
        return 3

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    hosts = sorted({int(r["hosts"]) for r in rows})
    fig, axes = plt.subplots(1, len(hosts), figsize=(5.5 * len(hosts), 4.6), squeeze=False,
                             sharey=True)
    width = 0.8 / len(BARS)
    for ax, h in zip(axes[0], hosts):
        sub = [r for r in rows if int(r["hosts"]) == h]
        for k, (v, label) in enumerate(BARS):
            med = [float(r[v + "_ratio"]) for r in sub]
            lo = [m - float(r[v + "_ratio_min"]) for m, r in zip(med, sub)]
            hi = [float(r[v + "_ratio_max"]) - m for m, r in zip(med, sub)]
            xs = [i + (k - (len(BARS) - 1) / 2) * width for i in range(len(sub))]
            ax.bar(xs, med, width, yerr=[lo, hi], capsize=3, label=label)
        for y, style, label in ((1.0, "-", "1: comm hidden"), (1.10, "--", "1.10: target (2 hosts)"),
                                (2.0, ":", "2: no overlap")):
            ax.axhline(y, color="grey", linestyle=style, linewidth=0.8, label=label)
        ax.set_xticks(range(len(sub)))
        ax.set_xticklabels([f"{r['size']}\n{r['n']}, {r['cin']}->{r['cout']}" for r in sub])
        ax.set_title(f"{h} hosts ({sub[0]['layout']})")
        ax.set_xlabel("halo message, image N, Cin->Cout")
    axes[0][0].set_ylabel("T_iter / max(T_comp, T_comm)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small")
    fig.suptitle("Overlap of conv and halo exchange on the emulated cluster (tools/cluster)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(png_path, dpi=110)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(plot(sys.argv[1], sys.argv[2]))
