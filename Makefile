# Thin wrapper around CMake: `make`, `make demo`, `make test`, `make bench`,
# the reliability configurations (`make asan debug tsan memcheck fuzz`) and
# the test suite's coverage of src/ (`make coverage`), each in a build
# directory of its own.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
# The makes that CMake's build runs would print every directory they enter
# (they see themselves called from make): `make demo` opened with a page of it.
MAKEFLAGS += --no-print-directory

.PHONY: all configure demo test bench asan debug tsan memcheck fuzz coverage clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

demo: all
	$(abspath $(BUILD))/examples/tour
	@mkdir -p $(BUILD)/demo
	$(abspath $(BUILD))/rcgc replay --explain --dot $(BUILD)/demo examples/article-cycle.trace

test: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: all
	./bench/run.sh $(BUILD)

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DRCGC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

debug:
	$(MAKE) test BUILD=build-debug CMAKE_FLAGS="-DRCGC_DEBUG=ON -DCMAKE_BUILD_TYPE=Debug"

tsan:
	$(MAKE) all BUILD=build-tsan CMAKE_FLAGS="-DRCGC_TSAN=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang"
	cd build-tsan && ctest --output-on-failure -L threads

memcheck:
	./tests/memcheck.sh build-memcheck

fuzz:
	./fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

coverage:
	./tests/coverage.sh build-coverage

clean:
	rm -rf build build-asan build-debug build-clang build-tsan build-memcheck build-fuzz build-coverage
