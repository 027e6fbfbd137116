#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file trace_direct_e2e.sh
# @brief Direct-transport transfers in FxT traces, end to end: tools/trace (with --png),
# starpu_fxt_tool, tools/overlap-report and tools/lib/gantt.py, on binaries of an FxT build.
#
# Usage: trace_direct_e2e.sh <repo root> <xfer_probe> <halo_bench> <work dir>
#   xfer_probe, 2 ranks, 4 iterations of 32768 floats: on each rank 4 direct sends and 4
#     receives of 131072 B, every post paired with its done (half of the dones come from a
#     pthread StarPU does not know), 16 compute tasks, no StarPU-MPI transfer.
#   halo_bench --with-compute --mode task (default transport), 2 ranks, vertical slices,
#     1 warm-up + 4 iterations: one send and one receive per iteration and neighbour, i.e.
#     5 + 5 direct transfers per rank of 64 rows x 4 channels x 4 B = 1024 B (image 64), and
#     of 256 x 16 x 4 = 16384 B (image 256: the size from which the progress thread tests
#     the requests and reports most completions). Covered shares in [0, 1].
#   Each traced run also writes gantt.png, checked to be a whole PNG (signature, IHDR, CRCs,
#   IEND) of a plausible size.
set -euo pipefail
root=$1 probe=$2 hb=$3 work=$4
fail() { echo "trace_direct_e2e: FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
export STARPU_NCPU=${STARPU_NCPU:-1} STARPU_MPI_NOBIND=1 STARPU_WORKERS_NOBIND=1

check() { # check <trace dir> <json expectations>
  "$root/tools/overlap-report" "$1"
  "$root/tools/overlap-report" --json "$1" >"$1/report.json"
  python3 - "$1" "$2" <<'PY'
import json, os, struct, sys, zlib
d, want = sys.argv[1], json.loads(sys.argv[2])
ranks = {r["rank"]: r for r in json.load(open(os.path.join(d, "report.json")))["ranks"]}
assert sorted(ranks) == [0, 1], ranks.keys()
for r in ranks.values():
    direct, spmpi = r["by_source"]["direct"], r["by_source"]["starpu-mpi"]
    n, size = want["per_way"], want["bytes"]
    got = (direct["sent"], direct["received"], direct["bytes_sent"], direct["bytes_received"])
    assert got == (n, n, n * size, n * size), (r["rank"], got, want)
    assert direct["unpaired_events"] == 0, direct
    assert spmpi["transfers"] == 0, spmpi
    assert r["transfers"] == 2 * n and r["sent"] == n and r["received"] == n, r
    assert r["transfer_ms"] > 0 and 0.0 <= r["overlap_share"] <= 1.0, r
    assert 0.0 <= direct["overlap_share"] <= 1.0, direct
    if "compute_tasks" in want:
        assert r["compute_tasks"] == want["compute_tasks"], r
    else:
        assert r["compute_tasks"] > 0, r
    print("trace_direct_e2e: rank %d: %d direct transfers, %.1f %% covered by compute"
          % (r["rank"], r["transfers"], 100 * r["overlap_share"]))
png = open(os.path.join(d, "gantt.png"), "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, chunks = 8, []
while pos < len(png):
    length, kind = struct.unpack(">I4s", png[pos:pos + 8])
    body = png[pos + 8:pos + 8 + length]
    crc, = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
    assert zlib.crc32(kind + body) & 0xffffffff == crc, "bad CRC in " + kind.decode()
    chunks.append(kind)
    pos += 12 + length
    if kind == b"IEND":
        break
assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks, chunks
w, h = struct.unpack(">II", png[16:24])
assert 400 <= w <= 4000 and 150 <= h <= 4000, (w, h)
print("trace_direct_e2e: gantt.png %dx%d, %d bytes" % (w, h, len(png)))
PY
}

run() { # run <name> <program> [args...]
  local name=$1
  shift
  local status=0
  "$root/tools/trace" --ranks 2 --png --out "$work/$name" -- "$@" >"$work/$name.log" 2>&1 ||
    status=$?
  [ $status -eq 0 ] || { cat "$work/$name.log"; fail "tools/trace of $name exited $status"; }
  grep -q "^trace: wrote .*/gantt.png" "$work/$name.log" ||
    { cat "$work/$name.log"; fail "$name: no gantt.png written"; }
}

run probe "$probe" --iters 4 --elems 32768 --tasks 4
check "$work/probe" '{"per_way": 4, "bytes": 131072, "compute_tasks": 16}'

hb_args=(--with-compute --mode task --num-spatial-parts 2 --slice-method vertical
  --out-channels 4 --warmup 1 --iterations 4)
run hb64 "$hb" "${hb_args[@]}" --image-size 64 --in-channels 4
check "$work/hb64" '{"per_way": 5, "bytes": 1024}'
run hb256 "$hb" "${hb_args[@]}" --image-size 256 --in-channels 16
check "$work/hb256" '{"per_way": 5, "bytes": 16384}'
echo "trace_direct_e2e: passed"
