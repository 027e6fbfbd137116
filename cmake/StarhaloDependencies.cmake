# Every external dependency is found here, once. tools/install-deps installs them all.
find_package(PkgConfig REQUIRED)
find_package(MPI REQUIRED COMPONENTS C)
find_package(Threads REQUIRED)
# Optional project-local StarPU (tools/build-starpu, e.g. FxT-enabled), searched before the
# system one; binaries get its lib/ in their RPATH so they load it and not Debian's libstarpu.
set(STARHALO_STARPU_PREFIX "$ENV{STARHALO_STARPU_PREFIX}" CACHE PATH
    "Prefix of a project-local StarPU (tools/build-starpu) to use instead of the system one")
if(STARHALO_STARPU_PREFIX)
  if(NOT EXISTS "${STARHALO_STARPU_PREFIX}/lib/pkgconfig/starpumpi-${STARHALO_STARPU_VERSION}.pc")
    message(FATAL_ERROR "STARHALO_STARPU_PREFIX=${STARHALO_STARPU_PREFIX} has no "
                        "lib/pkgconfig/starpumpi-${STARHALO_STARPU_VERSION}.pc (run tools/build-starpu)")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${STARHALO_STARPU_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
  list(PREPEND CMAKE_PREFIX_PATH "${STARHALO_STARPU_PREFIX}")
  list(APPEND CMAKE_BUILD_RPATH "${STARHALO_STARPU_PREFIX}/lib")
  list(APPEND CMAKE_INSTALL_RPATH "${STARHALO_STARPU_PREFIX}/lib")
endif()
# Re-probe StarPU when the prefix changes in an existing build directory (results are cached).
if(NOT "${STARHALO_STARPU_PREFIX}" STREQUAL "${STARHALO__STARPU_PREFIX_PROBED}")
  unset(__pkg_config_checked_STARPU CACHE)
  unset(HAVE_STARPU_FXT CACHE)
  unset(HAVE_STARPU_CUDA CACHE)
  unset(HAVE_STARPU_MPI_TAGS_ALLOCATE CACHE)
  unset(HAVE_STARPU_MPI_WAIT_FOR_ALL CACHE)
  set(STARHALO__STARPU_PREFIX_PROBED "${STARHALO_STARPU_PREFIX}" CACHE INTERNAL "")
endif()
pkg_check_modules(STARPU REQUIRED IMPORTED_TARGET starpumpi-${STARHALO_STARPU_VERSION})
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc)
find_package(dnnl CONFIG REQUIRED)
pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)

# Feature probes for StarPU APIs newer than Debian's 1.3.10 (Chameleon style HAVE_STARPU_*).
include(CheckSymbolExists)
set(CMAKE_REQUIRED_INCLUDES ${STARPU_INCLUDE_DIRS} ${MPI_C_INCLUDE_DIRS})
set(CMAKE_REQUIRED_LIBRARIES PkgConfig::STARPU MPI::MPI_C)
check_symbol_exists(starpu_mpi_tags_allocate "starpu_mpi.h" HAVE_STARPU_MPI_TAGS_ALLOCATE)
check_symbol_exists(starpu_mpi_wait_for_all "starpu_mpi.h" HAVE_STARPU_MPI_WAIT_FOR_ALL)
check_symbol_exists(STARPU_USE_FXT "starpu_config.h" HAVE_STARPU_FXT)
check_symbol_exists(STARPU_USE_CUDA "starpu_config.h" HAVE_STARPU_CUDA)
unset(CMAKE_REQUIRED_INCLUDES)
unset(CMAKE_REQUIRED_LIBRARIES)

# CUDA: kernels are StarPU-free, so they build wherever nvcc exists (Debian's StarPU has none).
set(STARHALO_USE_CUDA OFF)
if(NOT STARHALO_WITH_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # sm_80 code and PTX, plus sm_90 code: the GPU check runs on an H200 (sm_90), whose
    # driver could not JIT the PTX of a newer toolkit than its own (docs/GPU.md).
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90-real)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
    find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    set(STARHALO_USE_CUDA ON)
  elseif(STARHALO_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "STARHALO_WITH_CUDA=ON but no CUDA compiler was found")
  endif()
endif()
message(STATUS "starhalo: CUDA kernels ${STARHALO_USE_CUDA}; StarPU CUDA ${HAVE_STARPU_CUDA}; FxT ${HAVE_STARPU_FXT}")
message(STATUS "starhalo: StarPU ${STARPU_VERSION} from ${STARPU_LIBDIR}")

# MPI launcher used by tests and tools: root needs the allow flags, 2 cores need oversubscribe.
set(STARHALO_MPIEXEC ${MPIEXEC_EXECUTABLE})
set(STARHALO_MPIEXEC_PREFLAGS --oversubscribe --bind-to none)
