#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file fxt_build.sh
# @brief CTest fixture: an FxT StarPU and a minimal starhalo build against it, so that a
# build against Debian's StarPU (which has no FxT: CI's) still tests traces end to end.
#
# Usage: fxt_build.sh <repo root> <build dir> <target>...
#   1. tools/build-starpu --fxt: StarPU 1.3.10 with FxT into <repo root>/.starpu/fxt
#      (about 90 s the first time; it returns at once when that prefix is already built);
#   2. configure <build dir> against it (CUDA off, warnings are errors) and build only the
#      given targets (libstarhalo and the traced programs).
# Prints how long each step took. The tests that need it read <build dir>.
set -euo pipefail
root=$1 bdir=$2
shift 2
[ $# -gt 0 ] || { echo "fxt_build: error: no target given" >&2; exit 2; }
t0=$(date +%s)
prefix=$("$root/tools/build-starpu" --fxt | tail -n 1)
t1=$(date +%s)
echo "fxt_build: FxT StarPU in $prefix ($((t1 - t0)) s)"
mkdir -p "$bdir"
cmake -S "$root" -B "$bdir" -DSTARHALO_STARPU_PREFIX="$prefix" -DSTARHALO_WITH_CUDA=OFF \
  -DSTARHALO_WERROR=ON -DSTARHALO_TEST_FXT=OFF >"$bdir/configure.log" 2>&1 ||
  { cat "$bdir/configure.log"; exit 1; }
grep -q '^#define HAVE_STARPU_FXT' "$bdir/include/starhalo/starhalo_config.h" ||
  { echo "fxt_build: error: $bdir did not find FxT in $prefix" >&2; exit 1; }
cmake --build "$bdir" -j "$(nproc)" --target "$@" >"$bdir/build.log" 2>&1 ||
  { tail -n 40 "$bdir/build.log"; exit 1; }
echo "fxt_build: built $* in $bdir ($(($(date +%s) - t1)) s)"
