# SimGrid build (tools/build --simgrid, docs/SIMULATION.md): StarPU-MPI simulated on SimGrid.
# Sources are compiled by smpicc against the static SimGrid StarPU of tools/build-starpu
# --simgrid; the runtime and the apps get STARHALO_SIMGRID and runtime/simgrid/sim_compat.h
# force-included (host MPI calls go to StarPU-MPI's progress thread, main() becomes
# starpu_main()). Only heat2d and halo_bench are simulated (tools/build --simgrid).
if(NOT CMAKE_C_COMPILER MATCHES "smpicc$")
  message(FATAL_ERROR "STARHALO_SIMGRID needs CMAKE_C_COMPILER=smpicc (use tools/build --simgrid)")
endif()
set(CMAKE_REQUIRED_INCLUDES ${STARPU_INCLUDE_DIRS})
check_symbol_exists(STARPU_SIMGRID "starpu_config.h" HAVE_STARPU_SIMGRID)
unset(CMAKE_REQUIRED_INCLUDES)
if(NOT HAVE_STARPU_SIMGRID)
  message(FATAL_ERROR "STARHALO_SIMGRID: StarPU from ${STARPU_LIBDIR} is not a SimGrid build "
                      "(run tools/build-starpu --simgrid; tools/build --simgrid uses it)")
endif()
# The static archives by path: smpicc puts -L/usr/lib/x86_64-linux-gnu before ours, where
# Debian's shared libstarpu would be found first. Then their private dependencies (SimGrid).
set(_libs)
foreach(_f ${STARPU_STATIC_LDFLAGS})
  if(_f MATCHES "^-l(starpu(mpi)?-[0-9.]+)$")
    list(APPEND _libs "${STARPU_LIBDIR}/lib${CMAKE_MATCH_1}.a")
  elseif(NOT _f MATCHES "^-g")
    list(APPEND _libs "${_f}")
  endif()
endforeach()
set_target_properties(PkgConfig::STARPU PROPERTIES INTERFACE_LINK_LIBRARIES "${_libs}")
# One process holds every simulated rank: StarPU and starhalo are privatised per rank only
# inside the executable (SMPI copies it per rank), so the library is static there too.
set(STARHALO_LIBRARY_TYPE STATIC)
# SMPI copies the executable once per simulated rank: without debug info 1024 copies are
# about 3 GB less to write.
add_link_options(LINKER:--strip-debug)
# starhalo_simgrid_targets(<tgt>...): the targets whose code calls MPI or holds main().
function(starhalo_simgrid_targets)
  foreach(_t ${ARGN})
    if(TARGET ${_t})
      target_compile_definitions(${_t} PRIVATE STARHALO_SIMGRID=1)
      target_compile_options(${_t} PRIVATE -include ${PROJECT_SOURCE_DIR}/runtime/simgrid/sim_compat.h)
    endif()
  endforeach()
endfunction()
message(STATUS "starhalo: SimGrid build (StarPU ${STARPU_VERSION}, ${STARPU_LIBDIR})")
