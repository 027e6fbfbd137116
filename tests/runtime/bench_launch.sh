#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reproduce the launch-configuration table of docs/LAUNCH.md with bench_exchange.
# Usage: tests/runtime/bench_launch.sh BUILD_DIR [ITERS] [REPS]   (prints one line per run)
set -u
B=${1:?build dir}/tests/runtime/bench_exchange
IT=${2:-50}
RE=${3:-5}
source "$(dirname "$0")/../../tools/env.sh"
run() { # label, env..., -- mpirun args..., -- bench args...
  local label=$1; shift
  local envs=() mp=() ba=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  while [ "$1" != -- ]; do mp+=("$1"); shift; done; shift
  ba=("$@")
  printf '%-34s load=%s ' "$label" "$(cut -d' ' -f1 /proc/loadavg)"
  env "${envs[@]}" timeout 600 mpirun "${mp[@]}" "$B" "${ba[@]}" --iters "$IT" --reps "$RE" 2>&1 |
    grep -E '^size=|error' || echo "FAILED/TIMEOUT"
}
SIZES=${SIZES:-"1024:1:1 1024:3:1 1024:1:64 1024:3:64 4096:1:1 4096:3:1"}
CONFIGS=${CONFIGS:-"direct bindcore bindworkers eager dmda starpu starpudefault 1rank2parts 1rank4parts 4ranks"}
SIT=$(( IT / 10 > 10 ? IT / 10 : 10 )) # the StarPU-MPI transport is 100-1000x slower here
for s in $SIZES; do
  IFS=: read -r N H C <<<"$s"
  a=(--size "$N" --halo "$H" --channels "$C")
  for c in $CONFIGS; do
    case $c in
    direct) run "2r x1p defaults (direct)" X=1 -- -np 2 --bind-to none -- "${a[@]}" --parts 2 ;;
    bindcore) run "2r x1p --bind-to core" X=1 -- -np 2 --bind-to core -- "${a[@]}" --parts 2 ;;
    bindworkers) run "2r x1p workers bound (--bind 1)" X=1 -- -np 2 --bind-to none -- "${a[@]}" --parts 2 --bind 1 ;;
    eager) run "2r x1p STARPU_SCHED=eager" STARPU_SCHED=eager -- -np 2 --bind-to none -- "${a[@]}" --parts 2 ;;
    dmda) run "2r x1p STARPU_SCHED=dmda" STARPU_SCHED=dmda -- -np 2 --bind-to none -- "${a[@]}" --parts 2 ;;
    starpu) IT=$SIT run "2r x1p starpu-mpi transport" X=1 -- -np 2 --bind-to none -- "${a[@]}" --parts 2 --transport starpu ;;
    starpudefault) IT=$SIT run "2r x1p starpu-mpi, StarPU defaults" STARPU_NCPU=2 STARPU_WORKERS_NOBIND=0 STARPU_MPI_NOBIND=0 -- -np 2 --bind-to none -- "${a[@]}" --parts 2 --transport starpu ;;
    1rank2parts) run "1r x2p 2 workers" X=1 -- -np 1 --bind-to none -- "${a[@]}" --parts 2 ;;
    1rank4parts) run "1r x4p 2 workers" X=1 -- -np 1 --bind-to none -- "${a[@]}" --parts 4 ;;
    4ranks) run "4r x1p defaults (direct)" X=1 -- -np 4 --bind-to none -- "${a[@]}" --parts 4 ;;
    esac
  done
done
done
