#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file cluster_e2e.sh
# @brief Tests tools/cluster: halo_bench validates on 2 hosts (horizontal) and 4 hosts (square)
# with one rank per host, every host's halo bytes go through its tbf qdiscs (so the ranks talked
# TCP across the switch), a failing command's status comes back, bad options exit 2, and no
# namespace of the tool is left behind. Skipped (exit 77) without root or network namespaces.
#
# Usage: cluster_e2e.sh <repo root> <halo_bench>
set -euo pipefail
root=$1 hb=$2
fail() { echo "cluster_e2e: FAIL: $*" >&2; exit 1; }
source "$(dirname "$0")/../support/require_netns.sh"
require_netns cluster_e2e

# check_gone <tool output>: the namespaces named in the tool's first line are all deleted.
check_gone() {
  local prefix
  prefix=$(echo "$1" | sed -n 's/^cluster: [0-9]* hosts \(shc[0-9]*\)-h0\.\..*/\1/p' | head -1)
  [ -n "$prefix" ] || fail "no 'cluster: N hosts shc<pid>-h0..' line in: $1"
  ! ip netns list | grep -q "^$prefix-" || fail "namespaces of $prefix left: $(ip netns list)"
}

# run_hb <hosts> <slice> <message bytes>: halo_bench with one rank per host, validated.
run_hb() {
  local hosts=$1 slice=$2 msg=$3 out i sent
  out=$("$root/tools/cluster" --hosts "$hosts" -- mpirun -np "$hosts" --bind-to none "$hb" \
    --image-size 256 --in-channels 8 --halo-len 1 --num-spatial-parts "$hosts" \
    --slice-method "$slice" --validate --iterations 3 --warmup 1 2>&1) ||
    fail "$hosts hosts $slice: tools/cluster exited $?: $out"
  echo "$out"
  [ "$(echo "$out" | grep -c '^Validation passed')" -eq "$hosts" ] ||
    fail "$hosts hosts $slice: not every rank validated"
  for ((i = 0; i < hosts; i++)); do
    sent=$(echo "$out" | sed -n "s/^cluster: h$i (.*) sent \([0-9]*\) bytes.*/\1/p")
    # 1 warm-up + 3 timed + the validation exchange, each at least one message per host.
    [ -n "$sent" ] && [ "$sent" -ge $((5 * msg)) ] ||
      fail "$hosts hosts $slice: h$i's tbf carried '$sent' bytes, expected >= $((5 * msg))"
  done
  check_gone "$out"
}
# A halo row: 256 columns (128 per side for square) x 8 channels x 4 bytes.
run_hb 2 horizontal $((256 * 8 * 4))
run_hb 4 square $((128 * 8 * 4))

status=0
out=$("$root/tools/cluster" --hosts 2 -- sh -c 'exit 7' 2>&1) || status=$?
[ $status -eq 7 ] || fail "command status 7 came back as $status: $out"
check_gone "$out"
status=0
out=$("$root/tools/cluster" --hosts 2 -- mpirun -np 2 --bind-to none "$hb" \
  --slice-method bogus 2>&1) || status=$?
[ $status -ne 0 ] || fail "a failing halo_bench came back as status 0: $out"
check_gone "$out"

status=0
out=$("$root/tools/cluster" --hosts two -- true 2>&1) || status=$?
[ $status -eq 2 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ "$out" = "cluster: error: "* ]] ||
  fail "--hosts two: exit $status, output '$out' (expected one error line, exit 2)"
status=0
out=$("$root/tools/cluster" --mtu 9000 --burst 8k -- true 2>&1) || status=$?
[ $status -eq 2 ] && [[ "$out" = "cluster: error: --burst"* ]] ||
  fail "burst below the MTU: exit $status, output '$out' (expected a --burst error, exit 2)"
echo "cluster_e2e: passed"
