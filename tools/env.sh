# Sourced by tools/*: the launch environment starhalo documents and defaults (docs/LAUNCH.md).
# Open MPI refuses root without these; this machine class runs everything as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export STARPU_SILENT=${STARPU_SILENT:-1}
STARHALO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export STARHALO_ROOT
export STARHALO_BUILD=${STARHALO_BUILD:-$STARHALO_ROOT/build}
export STARPU_HOME=${STARPU_HOME:-$STARHALO_BUILD/starpu-home}
