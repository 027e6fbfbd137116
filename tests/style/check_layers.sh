#!/usr/bin/env bash
# The layering rules a grep can check: no exit/abort in the library, no StarPU/MPI in plans/,
# the apps on the public API only.
set -u
cd "$1"
rc=0
hits=$(grep -rnE '(^|[^_[:alnum:]])(exit|abort) *\(' plans runtime codelets)
if [ -n "$hits" ]; then echo "exit/abort inside the library:"; echo "$hits"; rc=1; fi
hits=$(grep -rnE '#include *[<"](starpu|mpi)' plans)
if [ -n "$hits" ]; then echo "plans/ includes StarPU or MPI:"; echo "$hits"; rc=1; fi
hits=$(grep -rnE '#include *[<"]starpu' codelets/kernels)
if [ -n "$hits" ]; then echo "kernels include StarPU:"; echo "$hits"; rc=1; fi
# The runtime's layers: plain-MPI executor (runtime/mpi) <- StarPU runtime (runtime/*.c) <-
# task graphs (runtime/graphs). Lower layers see no StarPU or upper headers; the graphs see the
# runtime only through public headers and its submission interface (rt_submit.h).
hits=$(grep -rnE '#include *[<"](starpu|rt_|runtime_internal)' runtime/mpi)
if [ -n "$hits" ]; then echo "runtime/mpi includes StarPU or the StarPU runtime:"; echo "$hits"; rc=1; fi
hits=$(grep -rnE '#include *"(runtime_internal|rt_exchange_internal|index_mpi_internal|rt_trace)\.h"' runtime/graphs)
if [ -n "$hits" ]; then echo "runtime/graphs includes runtime internals:"; echo "$hits"; rc=1; fi
hits=$(grep -rnE '#include *"(runtime_internal|rt_[a-z_]*|index_mpi_internal|rt_compute_internal)\.h"' codelets)
if [ -n "$hits" ]; then echo "codelets include the runtime:"; echo "$hits"; rc=1; fi
# Applications use what an outside user gets: public headers (include/starhalo), the apps' own
# headers and kit, public libraries (starhalo, starhalo_plans); no starhalo__ internals.
hits=$(grep -rnE 'starhalo__[[:alnum:]_]+' apps)
if [ -n "$hits" ]; then echo "apps use internal starhalo__ symbols:"; echo "$hits"; rc=1; fi
hits=$(grep -rnoE '#include *"[^"]+"' apps | while IFS= read -r line; do
  inc=$(printf '%s' "$line" | sed -E 's/.*#include *"([^"]+)".*/\1/')
  [ -n "$(find apps -name "$(basename "$inc")" -print -quit)" ] || echo "$line"
done)
if [ -n "$hits" ]; then echo "apps include headers from outside apps/ (not public):"; echo "$hits"; rc=1; fi
hits=$(grep -rnE '(^|[^/_[:alnum:]])starhalo_kernels(_cuda)?([^._[:alnum:]]|$)|\$\{PROJECT_SOURCE_DIR\}/(runtime|codelets|plans)' \
  apps --include=CMakeLists.txt)
if [ -n "$hits" ]; then echo "apps link private libraries or reach into the library's sources:"; echo "$hits"; rc=1; fi
[ $rc -eq 0 ] && echo "layers: clean"
exit $rc
