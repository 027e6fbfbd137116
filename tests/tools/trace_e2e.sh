#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file trace_e2e.sh
# @brief Tests tools/trace + tools/overlap-report end to end on trace_probe.
#
# Usage: trace_e2e.sh <repo root> <trace_probe> <work dir> fxt|nofxt
#   fxt:   2 ranks traced; the converted files exist and the report sees, on each rank, the
#          probe's 3 x 2 transfers, 12 compute tasks and 18 tasks in all (pack/unpack excluded).
#   nofxt: the probe links a StarPU without FxT; tools/trace must refuse in one line, exit 2.
set -euo pipefail
root=$1 probe=$2 work=$3 mode=$4
fail() { echo "trace_e2e: FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"

if [ "$mode" = nofxt ]; then
  status=0
  "$root/tools/trace" --out "$work/t" -- "$probe" >"$work/out" 2>"$work/err" || status=$?
  [ $status -eq 2 ] || fail "tools/trace exited $status, expected 2"
  [ "$(wc -l <"$work/err")" -eq 1 ] || fail "expected one error line, got: $(cat "$work/err")"
  grep -q '^trace: error: .*a StarPU without FxT' "$work/err" || fail "message: $(cat "$work/err")"
  echo "trace_e2e: non-FxT binary refused: $(cat "$work/err")"
  exit 0
fi

"$root/tools/trace" --ranks 2 --out "$work/t" -- "$probe" --iters 3 --tasks 4 ||
  fail "tools/trace exited $?"
for f in prof_file_ paje.trace tasks.rec trace.rec dag.dot; do
  ls "$work/t/$f"* >/dev/null 2>&1 || fail "no $f in $work/t"
done
"$root/tools/overlap-report" "$work/t"
"$root/tools/overlap-report" --json "$work/t" >"$work/report.json"
python3 - "$work/report.json" <<'PY'
import json, sys
ranks = {r["rank"]: r for r in json.load(open(sys.argv[1]))["ranks"]}
assert sorted(ranks) == [0, 1], ranks.keys()
for r in ranks.values():
    # Each iteration: one send each way; with 2 ranks every link touches both ranks.
    assert r["transfers"] + r["skewed_links"] == 6, r
    assert r["transfers"] >= 1 and r["transfer_ms"] > 0, r
    assert r["compute_tasks"] == 12, r
    assert sum(w["tasks"] for w in r["workers"]) == 18, r
    assert 0.0 <= r["overlap_share"] <= 1.0, r
    for w in r["workers"]:
        assert 0.0 <= w["idle_share"] <= 1.0, w
print("trace_e2e: report checks passed")
PY
