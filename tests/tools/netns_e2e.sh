#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file netns_e2e.sh
# @brief Tests tools/netns-run: a 2-rank ping-pong runs inside the namespace, its bytes go
# through the tbf qdisc on the namespace's lo (so Open MPI used TCP there, not shared memory),
# a failing command's status is passed through, and no namespace is left behind.
# Skipped (exit 77) without root or network namespaces.
#
# Usage: netns_e2e.sh <repo root> <mpi_pingpong>
set -euo pipefail
root=$1 pingpong=$2
fail() { echo "netns_e2e: FAIL: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! ip netns add "starhalo-probe-$$" 2>/dev/null; then
  echo "netns_e2e: skipped: needs root and ip netns"
  exit 77
fi
ip netns del "starhalo-probe-$$"
before=$(ip netns list | grep -c '^starhalo-' || true)

out=$("$root/tools/netns-run" --rate 1gbit -- "$pingpong" --reps 3 --max-bytes 1048576) ||
  fail "netns-run exited $?: $out"
echo "$out"
carried=$(echo "$out" | sed -n 's/.* carried \([0-9]*\) bytes.*/\1/p')
# 3 timed + 1 warm-up round trips of 1 MiB alone are 8 MiB.
[ -n "$carried" ] && [ "$carried" -ge 8388608 ] || fail "tbf on lo carried '$carried' bytes, expected >= 8 MiB"

status=0
"$root/tools/netns-run" --ranks 0 -- sh -c 'exit 7' >/dev/null || status=$?
[ $status -eq 7 ] || fail "command status 7 came back as $status"

after=$(ip netns list | grep -c '^starhalo-' || true)
[ "$after" -le "$before" ] || fail "a starhalo-* namespace was left behind: $(ip netns list)"
echo "netns_e2e: passed"
