# Install rules (SMX_INSTALL): the headers, libsmx, the CMake package (find_package(smx CONFIG)
# gives smx::smx) and smx.pc for pkg-config. Included by the top-level CMakeLists.txt.
#
# libsmx links Highway and OpenMP privately. A static libsmx (the default) passes them on: the
# CMake package finds them again (smxConfig.cmake.in) and smx.pc lists them in Requires and Libs;
# a shared one needs them only in Requires.private and Libs.private.
include(CMakePackageConfigHelpers)

set(SMX_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/smx)
get_target_property(SMX_LIBRARY_TYPE smx TYPE)

install(TARGETS smx EXPORT smxTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/smx
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(EXPORT smxTargets NAMESPACE smx:: DESTINATION ${SMX_CMAKE_INSTALL_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/smxConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/smxConfig.cmake
                              INSTALL_DESTINATION ${SMX_CMAKE_INSTALL_DIR})
# 0.x releases: only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/smxConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/smxConfig.cmake ${PROJECT_BINARY_DIR}/smxConfigVersion.cmake
        DESTINATION ${SMX_CMAKE_INSTALL_DIR})

# smx.pc finds its prefix relative to itself (${pcfiledir}), so `cmake --install --prefix P`
# gives a working file for any P.
set(SMX_PC_PREFIX "\${pcfiledir}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(SMX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH SMX_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" SMX_PC_UP "${SMX_PC_UP}")
  string(APPEND SMX_PC_PREFIX "/${SMX_PC_UP}")
endif()
# The C++ runtime that a C program linking libsmx needs.
set(SMX_PC_CXX_LIBS "-lstdc++ -lm" CACHE STRING "C++ runtime libraries listed in smx.pc")
set(SMX_PC_DEPS_LIBS "${OpenMP_CXX_FLAGS} ${SMX_PC_CXX_LIBS}")
if(SMX_SANITIZE)
  string(PREPEND SMX_PC_DEPS_LIBS "-fsanitize=address,undefined ")
endif()
if(SMX_LIBRARY_TYPE STREQUAL "STATIC_LIBRARY")
  set(SMX_PC_REQUIRES "libhwy")
  set(SMX_PC_REQUIRES_PRIVATE "")
  set(SMX_PC_LIBS "-L\${libdir} -lsmx ${SMX_PC_DEPS_LIBS}")
  set(SMX_PC_LIBS_PRIVATE "")
else()
  set(SMX_PC_REQUIRES "")
  set(SMX_PC_REQUIRES_PRIVATE "libhwy")
  set(SMX_PC_LIBS "-L\${libdir} -lsmx")
  set(SMX_PC_LIBS_PRIVATE "${SMX_PC_DEPS_LIBS}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/smx.pc.in ${PROJECT_BINARY_DIR}/smx.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/smx.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
