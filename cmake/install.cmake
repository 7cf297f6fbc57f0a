# Installation: headers, the runtime and converter libraries (shared with a SONAME, and static),
# the CLI, a CMake package (find_package(aneforge) → aneforge::rt, aneforge::aneforge, and the
# *_static variants) and pkg-config files (aneforge-rt, aneforge).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/aneforge DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS af_tree aneforge_rt_static aneforge_rt_shared aneforge_static aneforge_shared
  EXPORT aneforgeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS aneforge_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(AF_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/aneforge)
# The .pc files locate the prefix relative to their own folder (relocatable installs).
file(RELATIVE_PATH AF_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
install(EXPORT aneforgeTargets NAMESPACE aneforge:: DESTINATION ${AF_CMAKE_DIR})
configure_package_config_file(cmake/aneforgeConfig.cmake.in
  ${CMAKE_BINARY_DIR}/aneforgeConfig.cmake INSTALL_DESTINATION ${AF_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/aneforgeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/aneforgeConfig.cmake ${CMAKE_BINARY_DIR}/aneforgeConfigVersion.cmake
  DESTINATION ${AF_CMAKE_DIR})

set(AF_PC_RT_PRIVATE "-lz -lm -lpthread")
if(CBLAS_LIBRARY AND AF_WITH_BLAS)
  get_filename_component(blas_name ${CBLAS_LIBRARY} NAME_WE)
  string(REGEX REPLACE "^lib" "" blas_name ${blas_name})
  set(AF_PC_RT_PRIVATE "${AF_PC_RT_PRIVATE} -l${blas_name}")
endif()
foreach(pc aneforge-rt aneforge)
  configure_file(cmake/${pc}.pc.in ${CMAKE_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
