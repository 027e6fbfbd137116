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
[ $rc -eq 0 ] && echo "layers: clean"
exit $rc
