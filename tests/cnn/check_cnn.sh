#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spatial_cnn end to end (needs mpirun in PATH and the tests' root/oversubscribe environment):
#   check_cnn.sh bad EXE NP REGEX ARGS...  must exit non-zero within 60 s with exactly one
#       "spatial_cnn: error:" line matching REGEX and no abort trace.
#   check_cnn.sh dump EXE NP DIR ARGS...   --dump DIR (two-layer net, --channels 2,3,2) must
#       write input, target, loss, output and every layer's initial and final parameters as
#       .npy files with a NUMPY header and the expected byte sizes; the loss must decrease.
#   check_cnn.sh torch EXE NP DIR NETFILE STEPS LR MOMENTUM ARGS...  --dump DIR of a --net
#       run, then check_torch.py retrains the net with PyTorch from the dumped start and must
#       agree (exit 77, skipped, without torch).
#   check_cnn.sh input EXE NP DIR ARGS...  writes DIR/x.npy (2 x 3 x 20 x 20 float32, values
#       not from the app's generator), trains with --input DIR/x.npy --validate --dump: the
#       validation must pass (the reference reads the same file) and the dumped input.npy must
#       hold the file's values.
set -u
what=$1 exe=$2 np=$3; shift 3
run() { timeout -k 5 ${T:-120} mpirun -np "$np" --oversubscribe --bind-to none "$exe" "$@" 2>&1; }
fail() { echo "CHECK FAILED: $*"; exit 1; }
case $what in
bad) exec "$(dirname "$0")/../support/check_bad_input.sh" spatial_cnn "$exe" "$np" "$@" ;;
dump)
  dir=$1; shift; rm -rf "$dir"
  out=$(run --dump "$dir" --image-size 16 --channels 2,3,2 --batch-size 2 --steps 4 "$@") || { echo "$out"; fail "exit status"; }
  echo "$out"
  # float32 (loss: float64) payloads after a 128-byte header for these shapes
  for f in input:$((4*2*2*16*16)) target:$((4*2*2*16*16)) output:$((4*2*2*16*16)) loss:$((8*4)) \
           p0_weight_init:$((4*3*2*9)) p0_weight_final:$((4*3*2*9)) p2_weight_final:$((4*2*3*9)); do
    name=${f%%:*} n=${f##*:}
    head -c 6 "$dir/$name.npy" | grep -q NUMPY || fail "$name.npy header"
    [ "$(stat -c %s "$dir/$name.npy")" -eq $((128 + n)) ] || fail "$name.npy size"
  done
  cmp -s "$dir/p0_weight_init.npy" "$dir/p0_weight_final.npy" && fail "p0 weight did not move"
  first=$(echo "$out" | awk '/^step 0:/ {print $4}') last=$(echo "$out" | awk '/^step 3:/ {print $4}')
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "loss did not decrease ($first -> $last)" ;;
torch)
  dir=$1 net=$2 steps=$3 lr=$4 mom=$5; shift 5; rm -rf "$dir"
  py=
  for p in ${STARHALO_TORCH_PYTHON:-} python3 /usr/bin/python3; do
    "$p" -c 'import torch' 2>/dev/null && { py=$p; break; }
  done
  [ -n "$py" ] || { echo "torch check: skipped (no python3 with torch)"; exit 77; }
  out=$(run --net "$net" --dump "$dir" --steps "$steps" --lr "$lr" --momentum "$mom" "$@") || { echo "$out"; fail "exit status"; }
  echo "$out"
  "$py" "$(dirname "$0")/check_torch.py" "$net" "$dir" --steps "$steps" --lr "$lr" --momentum "$mom" || fail "torch disagrees" ;;
input)
  dir=$1; shift; rm -rf "$dir"; mkdir -p "$dir"
  python3 - "$dir/x.npy" <<'EOF' || fail "writing x.npy"
import math, struct, sys
shape = (2, 3, 20, 20)
head = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (shape,)
head += " " * (117 - len(head)) + "\n"
vals = [math.cos(0.3 * i) * (1 + (i % 7)) for i in range(2 * 3 * 20 * 20)]
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
    f.write(struct.pack("<%df" % len(vals), *vals))
EOF
  out=$(run --input "$dir/x.npy" --validate --dump "$dir/d" "$@") || { echo "$out"; fail "exit status"; }
  echo "$out"
  echo "$out" | grep -q "^validate: passed" || fail "validation"
  cmp <(tail -c +129 "$dir/x.npy") <(tail -c +129 "$dir/d/input.npy") || fail "dumped input differs from the file" ;;
*) fail "unknown check $what" ;;
esac
