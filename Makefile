# Top-level convenience targets. The real build is CMake in build/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build demo check clean fuzz check-sanitize check-tsan check-blas check-arm64

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: deps $(BUILD)/CMakeCache.txt
	@echo "building (log in $(BUILD)/build.log) ..."
	@cmake --build $(BUILD) -j $(JOBS) >$(BUILD)/build.log 2>&1 || { cat $(BUILD)/build.log; exit 1; }
	@scripts/demo.sh $(BUILD)

check: deps
	cmake -S . -B $(BUILD) -DAF_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

# The opt-in CBLAS build (-DAF_WITH_BLAS=ON: OpenBLAS for the GEMMs the packed kernels do not
# take, e.g. on a CPU without AVX2): build it and run the unit tests. The default build links no BLAS.
BLAS_BUILD ?= build-blas
check-blas: deps
	cmake -S . -B $(BLAS_BUILD) -DAF_WERROR=ON -DAF_WITH_BLAS=ON $(CMAKE_FLAGS)
	cmake --build $(BLAS_BUILD) -j $(JOBS)
	cd $(BLAS_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit -LE slow

clean:
	rm -rf $(BUILD)

# ---- reliability (docs/reliability.md) ----
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build-fuzz
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# ctest labels left out of the sanitizer run (slow: as in `make check`)
SANITIZE_EXCLUDE ?= slow

# Every libFuzzer harness tests/fuzz/fuzz_*.c for FUZZ_SECONDS (clang; ASan+UBSan).
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DAF_FUZZ=ON -DCMAKE_C_COMPILER=clang $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target af_fuzz
	tests/fuzz/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The test suite built with -fsanitize=address,undefined -fno-sanitize-recover=all.
check-sanitize: deps
	cmake -S . -B $(ASAN_BUILD) -DAF_SANITIZE=ON -DAF_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -LE '$(SANITIZE_EXCLUDE)'

# The shared-bundle concurrency test under ThreadSanitizer (clang; portable kernels, since
# an uninstrumented BLAS cannot be checked).
check-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_C_COMPILER=clang -DAF_TSAN=ON -DAF_WITH_BLAS=OFF $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_reliability_threads test_kernels_fast
	cd tests && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ../$(TSAN_BUILD)/tests/test_reliability_threads
	cd tests && TSAN_OPTIONS=halt_on_error=1 ../$(TSAN_BUILD)/tests/test_kernels_fast

# ---- ARM64 (docs/arm64.md) ----
# Cross-build for aarch64 Linux (Debian's gcc-aarch64-linux-gnu), run the unit tests under
# qemu-aarch64 (CTest's emulator) and the small models end to end against the x86 build.
ARM64_BUILD ?= build-arm64
ARM64_TOOLCHAIN ?= cmake/toolchains/aarch64-linux-gnu.cmake
# unit tests left out under emulation: none (the slow ones take reduced shapes there,
# AF_TEST_SMALL); set ARM64_EXCLUDE to a ctest -E regex to leave some out
ARM64_EXCLUDE ?=
check-arm64: deps
	cmake -S . -B $(BUILD) -DAF_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target aneforge_cli af_npycmp
	cmake -S . -B $(ARM64_BUILD) -DAF_WERROR=ON -DCMAKE_TOOLCHAIN_FILE=$(ARM64_TOOLCHAIN) $(CMAKE_FLAGS)
	cmake --build $(ARM64_BUILD) -j $(JOBS)
	cd $(ARM64_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit -LE slow $(if $(ARM64_EXCLUDE),-E '$(ARM64_EXCLUDE)')
	tests/arm64/e2e.sh $(BUILD) $(ARM64_BUILD)
