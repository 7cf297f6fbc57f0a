# Cross build for 64-bit ARM Linux with Debian's cross compiler (docs/arm64.md):
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install zlib1g-dev:arm64 libprotobuf-c-dev:arm64
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# Programs built here run on the host through qemu-aarch64 (user-mode emulation): CTest starts
# every test with CMAKE_CROSSCOMPILING_EMULATOR, and `make check-arm64` does the rest.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(AF_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${AF_CROSS_TRIPLE}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${AF_CROSS_TRIPLE})

# Headers and libraries from the cross sysroot and the arm64 multiarch packages only; programs
# (protoc-c) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${AF_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_ROOT_PATH /usr/${AF_CROSS_TRIPLE} /usr/lib/${AF_CROSS_TRIPLE} /)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/${AF_CROSS_TRIPLE})

# Programs are linked statically: under Debian 12's qemu-aarch64 (7.2) a dynamically linked
# program's first pthread_create never returns (a static one runs), and the instruction profile
# (tests/arm64/insn_profile.c) then names libc's functions too. libaneforge_rt.so is still built.
set(CMAKE_EXE_LINKER_FLAGS_INIT -static)
set(ZLIB_LIBRARY /usr/lib/${AF_CROSS_TRIPLE}/libz.a CACHE FILEPATH "static zlib (arm64)")
set(M_LIB /usr/${AF_CROSS_TRIPLE}/lib/libm.a CACHE FILEPATH "static libm (arm64)")
set(AF_NO_SHARED_CONVERTER ON) # libaneforge.so would need a PIC protobuf-c
set(PROTOBUF_C_LIBRARY /usr/lib/${AF_CROSS_TRIPLE}/libprotobuf-c.a CACHE FILEPATH
    "static protobuf-c (arm64)")
