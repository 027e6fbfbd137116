#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The launch-configuration measurements of docs/LAUNCH.md: bench_exchange under each
# configuration, in interleaved rounds (every configuration once per round), one line per run.
# Usage: tests/runtime/bench_launch.sh BUILD_DIR [ITERS] [ROUNDS] > log; summarise with
#        tests/runtime/bench_summary.py log
# SIZES="N:halo:channels ..." and CONFIGS="name ..." restrict the sweep.
set -u
B=${1:?build dir}/tests/runtime/bench_exchange
IT=${2:-200}
ROUNDS=${3:-3}
source "$(dirname "$0")/../../tools/env.sh"
run() { # config-name, env..., -- mpirun args..., -- bench args...
  local label=$1; shift
  local envs=() mp=() ba=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  while [ "$1" != -- ]; do mp+=("$1"); shift; done; shift
  ba=("$@")
  printf 'config=%s load=%s ' "$label" "$(cut -d' ' -f1 /proc/loadavg)"
  env "${envs[@]}" timeout 300 mpirun "${mp[@]}" "$B" "${ba[@]}" --reps 3 2>&1 |
    grep -E '^size=|error' || echo "FAILED/TIMEOUT"
}
SIZES=${SIZES:-"1024:1:1 1024:3:1 1024:3:64 4096:3:1"}
CONFIGS=${CONFIGS:-"raw2 raw4 2r-lws 2r-prio 2r-eager 2r-prio-bindcore 2r-prio-boundworkers 2r-starpumpi 1r2p-lws 1r2p-prio 1r2p-eager 1r4p-prio 4r-prio"}
for round in $(seq "$ROUNDS"); do
  for s in $SIZES; do
    IFS=: read -r N H C <<<"$s"
    it=$IT; [ "$C" -gt 1 ] && it=$(( IT / 10 > 5 ? IT / 10 : 5 ))
    a=(--size "$N" --halo "$H" --channels "$C" --iters "$it")
    sit=$(( it / 10 > 3 ? it / 10 : 3 )) # the StarPU-MPI transport is 100-1000x slower here
    for c in $CONFIGS; do
      case $c in
      raw2) run "$c" X=1 -- -np 2 --bind-to none -- "${a[@]}" --parts 2 --raw-only 1 ;;
      raw4) run "$c" X=1 -- -np 4 --bind-to none -- "${a[@]}" --parts 4 --raw-only 1 ;;
      2r-lws) run "$c" STARPU_SCHED=lws -- -np 2 --bind-to none -- "${a[@]}" --parts 2 ;;
      2r-prio) run "$c" STARPU_SCHED=prio -- -np 2 --bind-to none -- "${a[@]}" --parts 2 ;;
      2r-eager) run "$c" STARPU_SCHED=eager -- -np 2 --bind-to none -- "${a[@]}" --parts 2 ;;
      2r-prio-bindcore) run "$c" STARPU_SCHED=prio -- -np 2 --bind-to core -- "${a[@]}" --parts 2 ;;
      2r-prio-boundworkers) run "$c" STARPU_SCHED=prio -- -np 2 --bind-to none -- "${a[@]}" --parts 2 --bind 1 ;;
      2r-starpumpi) run "$c" STARPU_SCHED=prio -- -np 2 --bind-to none -- "${a[@]}" --parts 2 --transport starpu --iters "$sit" ;;
      2r-starpumpi-stockenv) run "$c" STARPU_NCPU=2 STARPU_WORKERS_NOBIND=0 STARPU_MPI_NOBIND=0 -- -np 2 --bind-to none -- "${a[@]}" --parts 2 --transport starpu --iters "$sit" ;;
      1r2p-lws) run "$c" STARPU_SCHED=lws -- -np 1 -- "${a[@]}" --parts 2 ;;
      1r2p-prio) run "$c" STARPU_SCHED=prio -- -np 1 -- "${a[@]}" --parts 2 ;;
      1r2p-eager) run "$c" STARPU_SCHED=eager -- -np 1 -- "${a[@]}" --parts 2 ;;
      1r2p-prio-1cpu) run "$c" STARPU_SCHED=prio STARPU_NCPU=1 -- -np 1 -- "${a[@]}" --parts 2 ;;
      1r4p-prio) run "$c" STARPU_SCHED=prio -- -np 1 -- "${a[@]}" --parts 4 ;;
      4r-prio) run "$c" STARPU_SCHED=prio -- -np 4 --bind-to none -- "${a[@]}" --parts 4 ;;
      esac
    done
  done
done
