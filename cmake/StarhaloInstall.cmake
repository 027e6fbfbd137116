# Install rules: headers, libraries, a CMake package (find_package(starhalo)) and starhalo.pc.
get_property(STARHALO_INSTALL_TARGETS GLOBAL PROPERTY STARHALO_TARGETS)
include(CMakePackageConfigHelpers)
install(DIRECTORY include/starhalo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/starhalo/starhalo_config.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/starhalo)
install(TARGETS ${STARHALO_INSTALL_TARGETS} EXPORT starhaloTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT starhaloTargets NAMESPACE starhalo::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/starhalo)
configure_package_config_file(cmake/starhaloConfig.cmake.in
  ${PROJECT_BINARY_DIR}/starhaloConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/starhalo)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/starhaloConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/starhaloConfig.cmake ${PROJECT_BINARY_DIR}/starhaloConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/starhalo)
file(RELATIVE_PATH STARHALO_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/starhalo.pc.in ${PROJECT_BINARY_DIR}/starhalo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/starhalo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
