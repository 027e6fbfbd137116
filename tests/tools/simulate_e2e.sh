#!/usr/bin/env bash
# tools/simulate end to end on the smallest weak-scaling point (16 simulated ranks, heat2d,
# task and BSP): CSV rows and a valid PNG. Opt-in: skips (77) unless tools/build-starpu
# --simgrid has built .starpu/simgrid; it never builds SimGrid StarPU itself (the first run
# builds the simulated apps and the calibration build, a few minutes).
# usage: simulate_e2e.sh <repo> <out dir>
set -euo pipefail
repo=$1 out=$2
if [ ! -f "$repo/.starpu/simgrid/lib/pkgconfig/starpumpi-1.3.pc" ]; then
  echo "simulate_e2e: skipped: no SimGrid StarPU in $repo/.starpu/simgrid (tools/build-starpu --simgrid)"
  exit 77
fi
rm -rf "$out"
"$repo/tools/simulate" --ranks 16 --apps heat2d --iterations 3 --out "$out"
csv=$out/simulate.csv
[ "$(head -n 1 "$csv" | cut -d, -f1-3)" = "app,mode,ranks" ] || { echo "bad CSV header"; exit 1; }
[ "$(grep -c '^heat2d,\(task\|bsp\),16,' "$csv")" -eq 2 ] || { echo "expected 2 rows:"; cat "$csv"; exit 1; }
/usr/bin/python3 - "$out/simulate.png" <<'PY'
import sys
import matplotlib.image as im
a = im.imread(sys.argv[1])
assert a.ndim == 3 and a.shape[0] > 100 and a.shape[1] > 100, a.shape
print("png", a.shape)
PY
echo "simulate_e2e: ok"
