# Thin wrapper around CMake: `make`, `make demo`, `make test`, `make bench`.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all configure demo test bench asan debug clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

demo: all
	./$(BUILD)/examples/tour

test: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: all
	./bench/run.sh $(BUILD)

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DRCGC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

debug:
	$(MAKE) test BUILD=build-debug CMAKE_FLAGS="-DRCGC_DEBUG=ON -DCMAKE_BUILD_TYPE=Debug"

clean:
	rm -rf build build-asan build-debug build-clang
