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

# The Python package (python/aneforge, docs/python.md): pure Python over libaneforge via ctypes.
# Installed into the prefix's Python path in Debian's layout — lib/python3/dist-packages under
# /usr, lib/python3.X/dist-packages elsewhere (on sys.path for /usr/local) — or AF_PYTHON_DIR
# (relative to the prefix). The prefix is read at install time (cmake --install --prefix works);
# _install.py records where the libraries are, relative to the package.
set(AF_PYTHON_DIR "" CACHE STRING "Python package folder relative to the install prefix (empty: Debian layout)")
find_package(Python3 COMPONENTS Interpreter QUIET)
set(AF_PY_VER 3)
if(Python3_FOUND)
  set(AF_PY_VER ${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR})
endif()
install(CODE "
  set(py_dir \"${AF_PYTHON_DIR}\")
  if(NOT py_dir)
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(py_dir lib/python3/dist-packages)
    else()
      set(py_dir lib/python${AF_PY_VER}/dist-packages)
    endif()
  endif()
  set(pkg \"\${CMAKE_INSTALL_PREFIX}/\${py_dir}/aneforge\")
  file(INSTALL \"${CMAKE_SOURCE_DIR}/python/aneforge/\" DESTINATION \"\${pkg}\"
       FILES_MATCHING PATTERN \"*.py\" PATTERN \"_install.py\" EXCLUDE PATTERN \"__pycache__\" EXCLUDE)
  file(RELATIVE_PATH rel \"\${pkg}\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${pkg}/_install.py\")
  file(WRITE \"\$ENV{DESTDIR}\${pkg}/_install.py\"
       \"# Written by cmake --install: the libraries' folder, relative to this package.\\nLIBDIR = '\${rel}'\\n\")
")
