# Test helpers: every test gets a label, a timeout and a clean environment.
#   starhalo_add_unit_test(<name> SOURCES <src...> [LINK <libs...>] [LABELS <l...>] [TIMEOUT s])
#     a CMocka executable run once, label "unit".
#   starhalo_add_mpi_test(<name> NP <n> COMMAND <exe> [args...] [LABELS <l...>] [TIMEOUT s])
#     runs `timeout mpirun -np n exe args` so a hang is killed, label "mpi;mpi-ranks-n".
#   starhalo_add_gpu_test(<name> SOURCES ... ) like a unit test; exit code 77 means skipped.
set(STARHALO_TEST_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  "OMPI_MCA_rmaps_base_oversubscribe=1"
  "STARPU_SILENT=1" "STARPU_HOME=${CMAKE_BINARY_DIR}/starpu-home"
  "STARHALO_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data")
# A sanitized build (STARHALO_SANITIZE, tools/check --sanitize) stops at the first error;
# leaks are reported except the MPI / StarPU / hwloc ones listed in tests/support/lsan.supp
# (no_dlclose keeps Open MPI's components mapped so that their leaks can be named).
if(STARHALO_SANITIZE)
  set(STARHALO_NO_DLCLOSE ${PROJECT_BINARY_DIR}/tests/libstarhalo_no_dlclose.so)
  list(APPEND STARHALO_TEST_ENV
    # allocator_may_return_null: a huge malloc returns NULL as in a normal build, so that the
    # out-of-memory paths are tested rather than ASan's own abort.
    "ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=0"
    "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/support/lsan.supp:print_suppressions=0"
    "LD_PRELOAD=${STARHALO_NO_DLCLOSE}")
endif()

function(starhalo_add_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LINK;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  starhalo_target_compile_options(${name})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA ${T_LINK})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                                          ENVIRONMENT "${STARHALO_TEST_ENV}")
endfunction()

function(starhalo_add_gpu_test name)
  starhalo_add_unit_test(${name} ${ARGN} LABELS gpu)
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
endfunction()

function(starhalo_add_mpi_test name)
  cmake_parse_arguments(T "WILL_FAIL" "NP;TIMEOUT" "COMMAND;LABELS;ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  math(EXPR _ctest_timeout "${T_TIMEOUT} + 30")
  add_test(NAME ${name}
           COMMAND timeout -k 10 ${T_TIMEOUT} ${STARHALO_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${T_NP}
                   ${STARHALO_MPIEXEC_PREFLAGS} ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES LABELS "mpi;mpi-ranks-${T_NP};${T_LABELS}"
                       TIMEOUT ${_ctest_timeout} PROCESSORS 2
                       ENVIRONMENT "${STARHALO_TEST_ENV};${T_ENV}")
  if(T_WILL_FAIL)
    set_tests_properties(${name} PROPERTIES WILL_FAIL TRUE)
  endif()
endfunction()
