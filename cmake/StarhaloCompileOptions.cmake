# starhalo_target_compile_options(<target>): the flags every starhalo target gets.
# STARHALO_SANITIZE (e.g. "address;undefined", tools/check --sanitize) instruments every target;
# undefined behaviour then stops the program (no recovery), as ASan does with halt_on_error.
set(STARHALO_SANITIZE_FLAGS "")
if(STARHALO_SANITIZE)
  string(REPLACE ";" "," _san "${STARHALO_SANITIZE}")
  set(STARHALO_SANITIZE_FLAGS -fsanitize=${_san} -fno-omit-frame-pointer)
  if(_san MATCHES "undefined")
    list(APPEND STARHALO_SANITIZE_FLAGS -fno-sanitize-recover=undefined)
  endif()
endif()

function(starhalo_target_compile_options tgt)
  target_compile_options(${tgt} PRIVATE
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
  target_compile_definitions(${tgt} PRIVATE _POSIX_C_SOURCE=200809L)
  if(STARHALO_WERROR)
    target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Werror>
                                          $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
  if(STARHALO_SANITIZE_FLAGS)
    target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:C>:${STARHALO_SANITIZE_FLAGS}>)
    target_link_options(${tgt} PRIVATE ${STARHALO_SANITIZE_FLAGS})
  endif()
  target_include_directories(${tgt} PRIVATE ${PROJECT_BINARY_DIR}/include)
endfunction()
