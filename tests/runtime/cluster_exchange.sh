#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file cluster_exchange.sh
# @brief The direct transport over TCP between 2 emulated hosts (tools/cluster), where messages
# leave the node: they are cut into chunks below the TCP eager limit and, in split exchanges,
# moved by the progress thread. Runs the exchange test suite across the hosts, then
# halo_bench's conv task graph with a rendezvous-sized halo (128 KiB rows) validated against a
# single-rank conv, and checks that the halo bytes crossed the shaped links. Not timed.
# Skipped (exit 77) without root or network namespaces.
#
# Usage: cluster_exchange.sh <repo root> <test_exchange> <halo_bench>
set -euo pipefail
root=$1 tx=$2 hb=$3
fail() { echo "cluster_exchange: FAIL: $*" >&2; exit 1; }
source "$(dirname "$0")/../support/require_netns.sh"
require_netns cluster_exchange

out=$("$root/tools/cluster" --hosts 2 --rate 1gbit -- mpirun -np 2 --bind-to none "$tx" direct \
  2>&1) || fail "test_exchange across 2 hosts exited $?: $out"
echo "$out" | grep -E '^\[  (PASSED|FAILED) ' || true

# 1024 columns x 32 channels x 4 B = 128 KiB per halo row: above the 64 KiB eager limit.
out=$("$root/tools/cluster" --hosts 2 --rate 200mbit -- mpirun -np 2 --bind-to none "$hb" \
  --image-size 1024 --in-channels 32 --out-channels 4 --halo-len 1 --num-spatial-parts 2 \
  --slice-method horizontal --with-compute --mode task --warmup 1 --iterations 3 --validate 2>&1) ||
  fail "halo_bench conv task graph across 2 hosts exited $?: $out"
[ "$(echo "$out" | grep -c '^Validation passed')" -eq 2 ] || fail "not validated on both ranks: $out"
for h in 0 1; do
  sent=$(echo "$out" | sed -n "s/^cluster: h$h (.*) sent \([0-9]*\) bytes.*/\1/p")
  # 1 warm-up + 3 timed iterations: 4 rows of 128 KiB at least.
  [ -n "$sent" ] && [ "$sent" -ge $((4 * 131072)) ] || fail "h$h's link carried '$sent' bytes"
done
echo "cluster_exchange: passed"
