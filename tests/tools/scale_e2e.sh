#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file scale_e2e.sh
# @brief Tests tools/scale --quick on 1 and 2 emulated hosts: every point of every app ran, the
# CSV holds them with positive times and efficiencies recomputed here from the samples, the
# three plots are valid PNG images, the summary is written, and bad options exit 2 with one
# line. Skipped (exit 77) without root or network namespaces.
#
# Usage: scale_e2e.sh <repo root> <build dir>
set -euo pipefail
root=$1 build=$2
fail() { echo "scale_e2e: FAIL: $*" >&2; exit 1; }
source "$(dirname "$0")/../support/require_netns.sh"
require_netns scale_e2e
out=$(mktemp -d /tmp/scale_e2e.XXXXXX)
trap 'rm -rf "$out"' EXIT

for bad in "--hosts 0" "--hosts x" "--scaling sideways" "--apps nbody" "--rate fast" \
  "--repeats 0" "--build /nonexistent"; do
  set +e
  # shellcheck disable=SC2086 # word splitting of the option pair is wanted
  msg=$("$root/tools/scale" $bad --out "$out/bad" 2>&1)
  rc=$?
  set -e
  [ $rc -eq 2 ] || fail "'$bad' exited $rc, expected 2: $msg"
  [ "$(echo "$msg" | grep -c 'error')" -eq 1 ] || fail "'$bad': not one error line: $msg"
done
[ ! -e "$out/bad" ] || fail "a refused run created its output folder"

"$root/tools/scale" --quick --hosts 1,2 --build "$build" --out "$out/run" 2>&1 |
  tee "$out/tool.txt" || fail "tools/scale --quick exited ${PIPESTATUS[0]}"
for f in scale.csv samples.csv scale.log summary.md scale-time.png scale-efficiency.png \
  scale-exchange.png; do
  [ -s "$out/run/$f" ] || fail "$f missing or empty"
done

/usr/bin/python3 - "$out/run" <<'EOF'
import csv, os, statistics, struct, sys
d = sys.argv[1]
def fail(m):
    sys.exit(f"scale_e2e: FAIL: {m}")
for p in ("scale-time.png", "scale-efficiency.png", "scale-exchange.png"):
    b = open(os.path.join(d, p), "rb").read()
    if b[:8] != b"\x89PNG\r\n\x1a\n" or b[12:16] != b"IHDR":
        fail(f"{p} is not a PNG")
    w, h = struct.unpack(">II", b[16:24])
    if not (200 < w < 10000 and 200 < h < 10000) or b[-8:-4] != b"IEND":
        fail(f"{p}: odd size {w}x{h} or no IEND chunk")
samples = list(csv.DictReader(open(os.path.join(d, "samples.csv"))))
want = {"heat2d": {"task", "bsp", "raw", "comm"}, "conv": {"task", "bsp", "raw", "comp", "comm"},
        "cnn": {"task", "bsp"}}
for sc in ("weak", "strong"):
    for h in ("1", "2"):
        for app, vs in want.items():
            got = {s["variant"] for s in samples
                   if (s["scaling"], s["hosts"], s["app"]) == (sc, h, app) and s["ms"]}
            if got != vs:
                fail(f"{sc} {h} hosts {app}: variants with a time {sorted(got)}, want {sorted(vs)}")
t = {}
for s in samples:
    # 1 and 2 hosts on 2 or more cores: no time dilation, the time is the measured one.
    if s["dilation"] != "1.0" or s["ms"] != s["ms_measured"]:
        fail(f"{s['hosts']} hosts: dilation {s['dilation']}, ms {s['ms']} vs {s['ms_measured']}")
    t.setdefault((s["scaling"], int(s["hosts"]), s["app"], s["variant"]), []).append(float(s["ms"]))
rows = list(csv.DictReader(open(os.path.join(d, "scale.csv"))))
if len(rows) != 2 * 2 * 8:
    fail(f"scale.csv has {len(rows)} rows, want 32 (2 scalings x 2 hosts x 8 app variants)")
for r in rows:
    key = (r["scaling"], int(r["hosts"]), r["app"], r["variant"])
    ms = statistics.median(t[key])
    if not ms > 0 or abs(float(r["ms"]) - ms) > 1e-3 * ms:
        fail(f"{key}: scale.csv ms {r['ms']} is not the samples' median {ms}")
    base = statistics.median(t[(key[0], 1, key[2], key[3])])
    ideal = base if key[0] == "weak" else base / key[1]
    if abs(float(r["efficiency"]) - ideal / ms) > 1e-3 * ideal / ms + 1e-4:
        fail(f"{key}: efficiency {r['efficiency']}, recomputed {ideal / ms:.4f}")
    if key[1] == 2 and key[2] != "cnn":
        comm = statistics.median(t[(key[0], 2, key[2], "comm")])
        if abs(float(r["exchange_share"]) - comm / ms) > 1e-3 * comm / ms + 1e-4:
            fail(f"{key}: exchange share {r['exchange_share']}, recomputed {comm / ms:.4f}")
print(f"scale_e2e: {len(samples)} samples, {len(rows)} rows, 3 PNGs checked")
EOF
grep -q '^| weak | heat2d | 1 | 2 |' "$out/run/summary.md" || fail "summary.md lacks the weak heat2d row"
prefix=$(sed -n 's/^cluster: [0-9]* hosts \(shc[0-9]*\)-h0\.\..*/\1/p' "$out/tool.txt" | head -1)
[ -n "$prefix" ] || fail "no 'cluster: N hosts shc<pid>-h0..' line in the tool's output"
! ip netns list | grep -q "^$prefix-" || fail "namespaces of $prefix left: $(ip netns list)"
echo "scale_e2e: passed"
