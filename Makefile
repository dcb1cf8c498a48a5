# Thin wrapper over CMake. `make demo` and `make test` set up everything they need on a
# fresh Debian machine: Debian packages, the pinned .venv, the build.
PYTHON      := $(CURDIR)/.venv/bin/python
BUILD_TYPE  ?= Release
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup build demo demo-cpp test test-asan test-tsan bench format format-check clean

all: build

setup:
	@tools/setup/install_debian_packages.sh
	@tools/setup/create_venv.sh
	@tools/kafka/fetch.sh

# configure_and_build(build_dir, extra cmake flags)
define configure_and_build
	cmake -S . -B $(1) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSABOT_PYTHON=$(PYTHON) $(2) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(1) -j $(JOBS)
endef

build: setup
	$(call configure_and_build,build,)

# The fraud-detection app on embedded defaults (no servers); demo-cpp runs the C++
# generator → filter → JSON lines job.
demo: build
	$(PYTHON) examples/fraud_app.py --transactions 200000

demo-cpp: build
	build/examples/cpp/transactions_demo

test: build
	cd build && ctest --output-on-failure -j $(JOBS) --timeout 600

# Sanitized runs put Arrow on the system allocator, which the sanitizers intercept
# (the wheel's mimalloc is invisible to them).
test-asan: setup
	$(call configure_and_build,build-asan,-DSABOT_ENABLE_ASAN=ON -DSABOT_BUILD_BENCHMARKS=OFF)
	cd build-asan && ARROW_DEFAULT_MEMORY_POOL=system ctest --output-on-failure -j $(JOBS) --timeout 1200

# detect_deadlocks=0: locks taken in inlined Arrow/Parquet header code but released
# inside the uninstrumented libraries look held forever, and TSan's lock-order detector
# aborts once a thread seems to hold 64 of them. Data races are still reported.
test-tsan: setup
	$(call configure_and_build,build-tsan,-DSABOT_ENABLE_TSAN=ON -DSABOT_BUILD_BENCHMARKS=OFF)
	cd build-tsan && ARROW_DEFAULT_MEMORY_POOL=system \
	  TSAN_OPTIONS="suppressions=$(CURDIR)/tools/sanitizers/tsan.supp detect_deadlocks=0" \
	  ctest --output-on-failure -j $(JOBS) --timeout 1200

bench: build
	build/bench/pipeline/pipeline_benchmark

format:
	find src bench examples tests python/src -name '*.h' -o -name '*.cc' | xargs clang-format -i

format-check:
	find src bench examples tests python/src -name '*.h' -o -name '*.cc' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build build-asan build-tsan
