# Driven by the install_consumer test: install, configure, build and run the consumer.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()
file(REMOVE_RECURSE ${PREFIX} ${WORK}/consumer-build)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
run(${CMAKE_COMMAND} -S ${CONSUMER_SRC} -B ${WORK}/consumer-build -DCMAKE_PREFIX_PATH=${PREFIX}
    -DCMAKE_C_COMPILER=${CC} "-DCMAKE_C_FLAGS=${FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}")
run(${CMAKE_COMMAND} --build ${WORK}/consumer-build)
run(${WORK}/consumer-build/consumer_cmake)
# pkg-config path: compile the same source with the flags starhalo.pc gives. A project-local
# StarPU (STARPU_PREFIX) must be the one found, and the one loaded (its lib/ in the rpath).
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
set(_starpu_rpath "")
if(STARPU_PREFIX)
  set(ENV{PKG_CONFIG_PATH} "${STARPU_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
  set(_starpu_rpath "-Wl,-rpath,${STARPU_PREFIX}/lib")
endif()
execute_process(COMMAND pkg-config --cflags --libs starhalo OUTPUT_VARIABLE flags
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config starhalo failed")
endif()
separate_arguments(flags UNIX_COMMAND "${flags} ${FLAGS}")
set(ENV{OMPI_CC} ${CC}) # mpicc drives the build's own compiler
run(mpicc ${CONSUMER_SRC}/consumer.c -o ${WORK}/consumer_pc ${flags} -Wl,-rpath,${PREFIX}/lib
    ${_starpu_rpath})
run(${WORK}/consumer_pc)
