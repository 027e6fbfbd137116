#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file cuda_build.sh
# @brief The CUDA variant configures and builds with warnings as errors: starhalo against the
# CUDA StarPU of tools/build-starpu --cuda (<repo root>/.starpu/cuda), CUDA on, into
# <build dir>; then the codelet registration test there must find a CUDA implementation on
# every codelet, and the codelet tests must pass on CPU workers (this machine may have no GPU).
# Exits 77 (skipped) when .starpu/cuda is not built (tools/check builds it where nvcc is)
# or nvcc is missing.
# Usage: cuda_build.sh <repo root> <build dir>
set -euo pipefail
root=$1 bdir=$2
prefix=$root/.starpu/cuda
if [ ! -f "$prefix/lib/pkgconfig/starpumpi-1.3.pc" ]; then
  echo "cuda_build: no CUDA StarPU in $prefix (tools/build-starpu --cuda): skipped"
  exit 77
fi
[ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null ||
  { echo "cuda_build: no nvcc: skipped"; exit 77; }
t0=$(date +%s)
mkdir -p "$bdir"
cmake -S "$root" -B "$bdir" -DSTARHALO_STARPU_PREFIX="$prefix" -DSTARHALO_WITH_CUDA=ON \
  -DSTARHALO_WERROR=ON -DSTARHALO_BUILD_APPS=ON -DSTARHALO_TEST_FXT=OFF \
  >"$bdir/configure.log" 2>&1 || { cat "$bdir/configure.log"; exit 1; }
grep -q '^#define HAVE_STARPU_CUDA' "$bdir/include/starhalo/starhalo_config.h" ||
  { echo "cuda_build: error: $bdir did not find CUDA in $prefix" >&2; exit 1; }
cmake --build "$bdir" -j "$(nproc)" --target starhalo test_codelet_registration test_codelets \
  test_cuda_kernels >"$bdir/build.log" 2>&1 || { tail -n 40 "$bdir/build.log"; exit 1; }
echo "cuda_build: configured and built in $(($(date +%s) - t0)) s (warnings are errors)"
export STARPU_HOME=$bdir/starpu-home STARPU_SILENT=1
"$bdir/tests/codelets/test_codelet_registration"
STARPU_NCUDA=0 "$bdir/tests/codelets/test_codelets"
