#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bounded fuzz run of one harness (ctest fuzz_run_<name>; docs/HARDENING.md):
#   run_fuzz.sh FUZZER SEED_DIR WORK_DIR SECONDS [libFuzzer options...]
# Fuzzes for SECONDS from the seeds in SEED_DIR (read only) plus what earlier runs kept in
# WORK_DIR/corpus, one job, ASan + UBSan as the fuzzer was built. A crash, a leak, a timeout
# (10 s per input) or a failed invariant fails the test; the input is saved in WORK_DIR as
# crash-*/leak-*/timeout-* and its path printed: minimise it, fix the bug, and add it to
# SEED_DIR so that ctest fuzz_replay_<name> replays it in every build.
set -u
fuzzer=$1 seeds=$2 work=$3 secs=$4
shift 4
mkdir -p "$work/corpus"
cd "$work" || exit 2
echo "run_fuzz: $(basename "$fuzzer") for $secs s from $seeds ($(ls "$seeds" | wc -l) seeds)"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds" 2>&1 | grep -v "^#[0-9]"
rc=${PIPESTATUS[0]}
ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null
exit "$rc"
