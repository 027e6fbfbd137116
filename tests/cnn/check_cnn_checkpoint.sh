#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spatial_cnn checkpoint/restart of its replicated weights (needs mpirun in PATH and the tests'
# root/oversubscribe environment). ARGS are shared by every run.
#   check_cnn_checkpoint.sh restart CNN DIR NPA "ARGS A" NPB "ARGS B" "ARGS"
#       6 steps on NPB ranks == 3 steps on NPA ranks (--checkpoint) + a restart on NPB ranks:
#       the final parameters (p0_weight, p2_weight) and output.npy of --dump are compared with
#       cmp (the two-layer net of --channels; with --momentum the checkpoint also holds the
#       momentum buffer). Bitwise equality across
#       rank counts needs the same association of the gradient sum (docs/CHECKPOINT.md): the
#       same part count, one rank <-> one part per rank.
#   check_cnn_checkpoint.sh bad CNN DIR NP KIND REGEX "ARGS"
#       KIND: flipped, shape (other channels), truncated, missing: one error line, every rank
#       non-zero, no hang.
set -u
what=$1 exe=$2 dir=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "CHECK FAILED: $*"; exit 1; }
run() { local np=$1; shift; timeout -k 5 ${T:-120} mpirun -np "$np" --oversubscribe --bind-to none "$exe" "$@" 2>&1; }
rm -rf "$dir"; mkdir -p "$dir"
case $what in
restart)
  npa=$1 a=$2 npb=$3 b=$4 args=$5
  out=$(run "$npb" $args $b --steps 6 --dump "$dir/full") || { echo "$out"; fail "uninterrupted run"; }
  out=$(run "$npa" $args $a --steps 3 --checkpoint "$dir/w.npy" --checkpoint-every 2 --dump "$dir/half") ||
    { echo "$out"; fail "first half"; }
  echo "$out" | grep -q 'checkpoint step 2 ' || fail "no checkpoint at step 2"
  echo "$out" | grep -q 'checkpoint step 3 ' || fail "no checkpoint at step 3"
  out=$(run "$npb" $args $b --steps 6 --restart "$dir/w.npy" --dump "$dir/re") || { echo "$out"; fail "restart"; }
  echo "$out"
  echo "$out" | grep -q "restarting from .* at step 3" || fail "restart did not resume at step 3"
  # numpy.load of the checkpoint: w1 then w2 (then, with momentum, their momentum), as the
  # first half dumped them (skipped without numpy).
  if /usr/bin/python3 -c 'import numpy' 2> /dev/null; then
    /usr/bin/python3 - "$dir" << 'EOF' || fail "numpy.load of the weights checkpoint"
import sys
import numpy as np
d = sys.argv[1]
w = np.load(f"{d}/w.npy")
ref = np.concatenate([np.load(f"{d}/half/p0_weight_final.npy").ravel(),
                      np.load(f"{d}/half/p2_weight_final.npy").ravel()])
assert w.dtype == np.float32 and w[:ref.size].tobytes() == ref.tobytes(), "checkpoint != dumped weights"
assert w.size in (ref.size, 2 * ref.size), f"checkpoint holds {w.size} values"
print(f"numpy.load: {w.shape} float32 weights equal the dumped w1, w2")
EOF
  fi
  for f in p0_weight_final p2_weight_final output; do
    cmp "$dir/full/$f.npy" "$dir/re/$f.npy" || fail "$f.npy differs after the restart"
  done
  echo "restart on $npb ranks ($b) from $npa ranks ($a): weights and output bitwise equal" ;;
bad)
  np=$1 kind=$2 regex=$3 args=$4
  f=$dir/w.npy
  if [ "$kind" != missing ]; then
    extra=; [ "$kind" = shape ] && extra="--channels 3,4,2"
    out=$(run 1 $args $extra --steps 2 --checkpoint "$f") || { echo "$out"; fail "good file"; }
  fi
  len=$(stat -c %s "$f" 2>/dev/null || echo 0)
  case $kind in
  truncated) head -c $((len - 8)) "$f" > "$f.x" && mv "$f.x" "$f" ;;
  flipped) printf '\x55' | dd of="$f" bs=1 seek=$((len - 20)) conv=notrunc 2> /dev/null ;;
  esac
  exec "$here/../support/check_bad_input.sh" spatial_cnn "$exe" "$np" "$regex" $args --steps 4 \
    --restart "$f" ;;
*) fail "unknown check $what" ;;
esac
