# SPDX-License-Identifier: MIT
"""Plots of tools/simulate (run by Debian's /usr/bin/python3, which has matplotlib).
usage: sim_plot.py weak simulate.csv out.png | sim_plot.py check calibration.csv out.png"""
import csv
import sys

import mplot

plt = mplot.pyplot("sim_plot")
if plt is None:
    sys.exit(3)

SIM = "SIMULATED: StarPU-MPI 1.3.10 on SimGrid 3.32, task times from perf models"


def weak(rows, png):
    apps = sorted({r["app"] for r in rows})
    fig, axes = plt.subplots(2, len(apps), figsize=(6 * len(apps), 8), squeeze=False)
    for j, app in enumerate(apps):
        for mode, style in (("task", "o-"), ("bsp", "s--")):
            rr = sorted((r for r in rows if r["app"] == app and r["mode"] == mode),
                        key=lambda r: int(r["ranks"]))
            if not rr:
                continue
            x = [int(r["ranks"]) for r in rr]
            axes[0][j].plot(x, [float(r["ms_per_iter"]) for r in rr], style, label=mode)
            axes[1][j].plot(x, [float(r["efficiency"]) for r in rr], style, label=mode)
        r0 = next(r for r in rows if r["app"] == app)
        axes[0][j].set_title(f"{app}: tile {r0['tile']}, channels {r0['channels']} per rank")
        for i, lab in ((0, "time per iteration (ms)"), (1, "weak efficiency (vs first point)")):
            axes[i][j].set_xscale("log", base=2)
            axes[i][j].set_xlabel("simulated ranks (1 per host, 1 CPU worker)")
            axes[i][j].set_ylabel(lab)
            axes[i][j].grid(True, alpha=0.3)
            axes[i][j].legend()
        axes[0][j].set_ylim(bottom=0)
        axes[1][j].set_ylim(0, 1.1)
    fig.suptitle(f"{SIM}\nweak scaling on {rows[0]['platform']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def check(rows, png):
    labels = [f"{r['app']}\n{r['mode']} {r['ranks']}r" for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 5))
    ax.bar([i - 0.2 for i in x], [float(r["measured_ms"]) for r in rows], 0.4,
           label="measured (emulated cluster: tbf links, 1 core per host)")
    ax.bar([i + 0.2 for i in x], [float(r["simulated_ms"]) for r in rows], 0.4,
           label="SIMULATED (SimGrid, same link rate)")
    for i, r in enumerate(rows):
        ax.annotate(f"{float(r['deviation']):+.0%}", (i + 0.2, float(r["simulated_ms"])),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("time per iteration (ms)")
    ax.legend(fontsize=8)
    ax.set_title(f"calibration check at {rows[0]['rate']}: simulated vs measured\n{SIM}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("weak", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[2], newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        print("sim_plot: error: no rows in " + sys.argv[2], file=sys.stderr)
        return 1
    (weak if sys.argv[1] == "weak" else check)(rows, sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
