# starhalo_target_compile_options(<target>): the flags every starhalo target gets.
function(starhalo_target_compile_options tgt)
  target_compile_options(${tgt} PRIVATE
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
  target_compile_definitions(${tgt} PRIVATE _POSIX_C_SOURCE=200809L)
  if(STARHALO_WERROR)
    target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Werror>)
  endif()
  if(STARHALO_SANITIZE)
    string(REPLACE ";" "," _san "${STARHALO_SANITIZE}")
    target_compile_options(${tgt} PRIVATE -fsanitize=${_san} -fno-omit-frame-pointer)
    target_link_options(${tgt} PRIVATE -fsanitize=${_san})
  endif()
  target_include_directories(${tgt} PRIVATE ${PROJECT_BINARY_DIR}/include)
endfunction()
