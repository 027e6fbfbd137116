#!/usr/bin/env bash
# The layering rules a grep can check: no exit/abort in the library, no StarPU/MPI in plans/.
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
[ $rc -eq 0 ] && echo "layers: clean"
exit $rc
