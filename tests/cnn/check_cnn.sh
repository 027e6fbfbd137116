#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spatial_cnn end to end (needs mpirun in PATH and the tests' root/oversubscribe environment):
#   check_cnn.sh bad EXE NP REGEX ARGS...  must exit non-zero within 60 s with exactly one
#       "spatial_cnn: error:" line matching REGEX and no abort trace.
#   check_cnn.sh dump EXE NP DIR ARGS...   --dump DIR must write w1.npy, w2.npy, output.npy
#       with a NUMPY header and the expected byte sizes, and the loss must decrease.
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
  # header is 128 bytes for these shapes; float32 payload
  for f in w1:$((3*2*9)) w2:$((2*3*9)) output:$((2*2*16*16)); do
    name=${f%%:*} n=${f##*:}
    head -c 6 "$dir/$name.npy" | grep -q NUMPY || fail "$name.npy header"
    [ "$(stat -c %s "$dir/$name.npy")" -eq $((128 + 4 * n)) ] || fail "$name.npy size"
  done
  first=$(echo "$out" | awk '/^step 0:/ {print $4}') last=$(echo "$out" | awk '/^step 3:/ {print $4}')
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "loss did not decrease ($first -> $last)" ;;
*) fail "unknown check $what" ;;
esac
