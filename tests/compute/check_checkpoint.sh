#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# heat2d checkpoint/restart end to end (needs mpirun in PATH and the tests' root/oversubscribe
# environment). Every run has 1 warmup step; "steps" below count warmup + iterations.
#   check_checkpoint.sh restart HEAT2D DIR NPA "ARGS A" NPB "ARGS B"
#       a 21-step run on NPB ranks with ARGS B == 10 steps on NPA ranks with ARGS A
#       (checkpoint every 4 and at the end) + a restart on NPB ranks with ARGS B for the
#       other 11: the --dump .npy files are compared with cmp, the residual lines must match.
#   check_checkpoint.sh numpy HEAT2D DIR NP "ARGS"
#       numpy.load of a checkpoint equals the --dump of the same run, and the header's
#       checksum recomputed in NumPy matches (77 = skipped when numpy is missing).
#   check_checkpoint.sh kill HEAT2D DIR NP
#       kill -9 of one rank while it writes checkpoint step 15 over the good step-10 file
#       (STARHALO_CHECKPOINT_PAUSE_MS holds the write open): the step-10 file is unchanged and a
#       restart from it ends bitwise equal to an uninterrupted run.
#   check_checkpoint.sh bad HEAT2D DIR NP KIND REGEX
#       a damaged checkpoint (KIND: truncated, flipped, header, dtype, shape, notnpy, plain,
#       missing, future) given to --restart: one "heat2d: error:" line matching REGEX,
#       non-zero exit on every rank, no hang, no abort trace.
set -u
what=$1 exe=$2 dir=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "CHECK FAILED: $*"; exit 1; }
run() { local np=$1; shift; timeout -k 5 ${T:-120} mpirun -np "$np" --oversubscribe --bind-to none "$exe" "$@" 2>&1; }
base=(--size 67 --warmup 1)
# Child pids of $1 (named $2 if given), from /proc: no procps needed.
children() {
  local st
  for st in /proc/[0-9]*/stat; do
    read -r pid comm _ ppid _ < "$st" 2> /dev/null || continue
    [ "$ppid" = "$1" ] && { [ -z "${2:-}" ] || [ "$comm" = "($2)" ]; } && echo "$pid"
  done | sort -n
}
rm -rf "$dir"; mkdir -p "$dir"
case $what in
restart)
  npa=$1 a=$2 npb=$3 b=$4
  out=$(run "$npb" "${base[@]}" --iterations 20 $b --dump "$dir/full") || { echo "$out"; fail "uninterrupted run"; }
  echo "$out" | grep '^heat2d: residual' > "$dir/full.sum"
  out=$(run "$npa" "${base[@]}" --iterations 9 $a --checkpoint "$dir/ck.npy" --checkpoint-every 4) ||
    { echo "$out"; fail "first half"; }
  echo "$out" | grep -q 'checkpoint step 8 ' || fail "no checkpoint at step 8"
  echo "$out" | grep -q 'checkpoint step 10 ' || fail "no checkpoint at step 10"
  out=$(run "$npb" "${base[@]}" --iterations 20 $b --restart "$dir/ck.npy" --dump "$dir/re") ||
    { echo "$out"; fail "restart"; }
  echo "$out"
  echo "$out" | grep -q "restarting from .* at step 10" || fail "restart did not resume at step 10"
  echo "$out" | grep '^heat2d: residual' > "$dir/re.sum"
  cmp "$dir/full/heat2d.npy" "$dir/re/heat2d.npy" || fail "restarted field differs from the uninterrupted one"
  cmp "$dir/full.sum" "$dir/re.sum" || fail "residual/checksum lines differ"
  echo "restart on $npb ranks ($b) from a checkpoint of $npa ranks ($a): bitwise equal" ;;
numpy)
  np=$1 a=$2
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "numpy missing: skipped"; exit 77; }
  out=$(run "$np" "${base[@]}" --iterations 12 $a --checkpoint "$dir/ck.npy" --dump "$dir/d") ||
    { echo "$out"; fail "run"; }
  /usr/bin/python3 "$here/check_checkpoint.py" "$dir/ck.npy" "$dir/d/heat2d.npy" 13 || fail "numpy check" ;;
kill)
  np=$1
  out=$(run "$np" "${base[@]}" --iterations 9 --checkpoint "$dir/ck.npy") || { echo "$out"; fail "first run"; }
  out=$(run "$np" "${base[@]}" --iterations 20 --dump "$dir/full") || { echo "$out"; fail "uninterrupted run"; }
  sum=$(md5sum < "$dir/ck.npy")
  STARHALO_CHECKPOINT_PAUSE_MS=60000 timeout -k 5 120 mpirun -np "$np" --oversubscribe --bind-to none \
    "$exe" "${base[@]}" --iterations 29 --restart "$dir/ck.npy" --checkpoint "$dir/ck.npy" \
    --checkpoint-every 5 > "$dir/killed.log" 2>&1 &
  tpid=$!
  # The write of step 15 has begun once its temporary exists; the hook holds it open.
  for _ in $(seq 600); do compgen -G "$dir/ck.npy.tmp.*" > /dev/null && break; sleep 0.1; done
  compgen -G "$dir/ck.npy.tmp.*" > /dev/null || { kill -9 $tpid; cat "$dir/killed.log"; fail "no temporary file appeared"; }
  sleep 0.5
  mpid=$(children $tpid | head -1)
  victim=$(children "$mpid" heat2d | tail -1)
  [ -n "$victim" ] || fail "no heat2d rank found under mpirun $mpid"
  kill -9 "$victim"
  wait $tpid; rc=$?
  cat "$dir/killed.log"
  [ $rc -ne 0 ] || fail "the killed job exited 0"
  grep -q 'checkpoint step 15' "$dir/killed.log" && fail "the step-15 checkpoint completed before the kill"
  [ "$(md5sum < "$dir/ck.npy")" = "$sum" ] || fail "the previous checkpoint changed"
  rm -f "$dir"/ck.npy.tmp.*
  out=$(run "$np" "${base[@]}" --iterations 20 --restart "$dir/ck.npy" --dump "$dir/re") ||
    { echo "$out"; fail "restart after the kill"; }
  cmp "$dir/full/heat2d.npy" "$dir/re/heat2d.npy" || fail "restart after the kill differs"
  echo "kill -9 during a checkpoint write left the previous checkpoint intact and usable" ;;
bad)
  np=$1 kind=$2 regex=$3
  f=$dir/ck.npy
  if [ "$kind" != missing ]; then
    dt=float32; [ "$kind" = dtype ] && dt=float64
    size=67; [ "$kind" = shape ] && size=65
    out=$(run 1 --size $size --warmup 1 --iterations 9 --dtype $dt --checkpoint "$f") || { echo "$out"; fail "good file"; }
  fi
  len=$(stat -c %s "$f" 2>/dev/null || echo 0)
  case $kind in
  truncated) head -c $((len - 100)) "$f" > "$f.x" && mv "$f.x" "$f" ;;
  flipped) printf '\x55' | dd of="$f" bs=1 seek=$((len / 2)) conv=notrunc 2> /dev/null ;;
  header) printf '9' | dd of="$f" bs=1 seek=$(grep -abo 'step=' "$f" | head -1 | cut -d: -f1 | awk '{print $1 + 5}') conv=notrunc 2> /dev/null ;;
  notnpy) echo "not a checkpoint" > "$f" ;;
  plain) /usr/bin/python3 - "$f" << 'EOF' || { echo "numpy missing: skipped"; exit 77; }
import sys
import numpy as np
np.save(sys.argv[1], np.zeros((1, 1, 67, 67), np.float32))
EOF
    ;;
  future) ;; # the file is at step 10, the run below asks for 6 steps
  esac
  iters=20; [ "$kind" = future ] && iters=5
  exec "$here/../support/check_bad_input.sh" heat2d "$exe" "$np" "$regex" "${base[@]}" \
    --iterations $iters --restart "$f" ;;
*) fail "unknown check $what" ;;
esac
