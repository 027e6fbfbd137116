#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file bundle_e2e.sh
# @brief The bundle of tools/gpu-check (tools/lib/bundle.py) on a small program: halo_bench
# and Open MPI gathered into one folder within the 64 MiB limit, no static library in it;
# then run from the bundle with LD_LIBRARY_PATH unset, on 2 ranks with the bundle's own
# mpirun: it validates, it loaded every library but the C runtime's from inside the bundle
# (glibc's LD_DEBUG=libs log), and its tiles equal those of the same run from the build.
# Usage: bundle_e2e.sh <repo root> <halo_bench> <work dir>
set -euo pipefail
root=$1 hb=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
b=$work/bundle
python3 "$root/tools/lib/bundle.py" --dest "$b" --mpi --max-mib 64 "$hb" | tee "$work/bundle.log"
[ -z "$(find "$b" -name '*.a')" ] || { echo "bundle_e2e: static libraries in the bundle" >&2; exit 1; }
args=(--image-size 64 --num-spatial-parts 2 --slice-method vertical --iterations 3 --warmup 1
  --validate)
# A subshell, not a new bash: LD_DEBUG must see only mpirun and the ranks.
(
  source "$b/env.sh"
  unset LD_LIBRARY_PATH
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld" STARPU_HOME="$work/home" \
    exec mpirun -np 2 --bind-to none "$b/bin/halo_bench" "${args[@]}" --dump "$work/from-bundle"
) >"$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
[ "$(grep -c '^Validation passed' "$work/run.log")" = 2 ] ||
  { cat "$work/run.log"; echo "bundle_e2e: the bundled run did not validate on 2 ranks" >&2; exit 1; }
# Every library the launcher and the ranks initialised: inside the bundle, or one the bundle
# leaves to the target on purpose (bundle.py's EXTERNAL: the C/C++ runtimes, CUDA's).
outside=$(cat "$work"/ld.* | sed -n 's/.*calling init: //p' | sort -u | python3 -c '
import os, sys
sys.path.insert(0, sys.argv[1])
import bundle
for path in sys.stdin.read().split():
    if not path.startswith(sys.argv[2]) and not bundle.EXTERNAL.match(os.path.basename(path)):
        print(path)' "$root/tools/lib" "$(realpath "$b")/")
[ -z "$outside" ] || { echo "bundle_e2e: loaded from outside the bundle:"; echo "$outside"; exit 1; }
n=$(cat "$work"/ld.* | sed -n 's/.*calling init: //p' | sort -u | grep -c "^$(realpath "$b")/")
STARPU_HOME="$work/home" mpirun -np 2 --oversubscribe --bind-to none "$hb" "${args[@]}" \
  --dump "$work/from-build" >"$work/run-build.log" 2>&1 || { cat "$work/run-build.log"; exit 1; }
for f in "$work"/from-build/*.npy; do
  cmp "$f" "$work/from-bundle/$(basename "$f")"
done
echo "bundle_e2e: passed ($(tail -n 1 "$work/bundle.log" | sed 's/^bundle: //'); $n libraries loaded from it; tiles equal to the build's)"
