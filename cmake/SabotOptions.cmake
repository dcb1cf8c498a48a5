# Build options, one place, SABOT_ prefix.
option(SABOT_BUILD_TESTS "Build GoogleTest unit and pipeline tests" ON)
option(SABOT_BUILD_BENCHMARKS "Build micro and pipeline benchmarks" ON)
option(SABOT_BUILD_PYTHON "Build the Python extension sabot._sabot (needs nanobind)" ON)
option(SABOT_BUILD_EXAMPLES "Build the C++ examples (the demo job)" ON)
option(SABOT_ENABLE_ASAN "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(SABOT_ENABLE_TSAN "Build with ThreadSanitizer" OFF)
option(SABOT_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" ON)
option(SABOT_USE_CCACHE "Use ccache when it is installed" ON)
option(SABOT_JEMALLOC "Link jemalloc into Sabot's executables (off under sanitizers)" ON)
set(SABOT_PYTHON "" CACHE FILEPATH
    "Python interpreter of the project venv (provides the pyarrow wheel and duckdb)")

if(SABOT_ENABLE_ASAN OR SABOT_ENABLE_TSAN)
  set(SABOT_JEMALLOC OFF CACHE BOOL "" FORCE)
endif()
if(SABOT_ENABLE_ASAN AND SABOT_ENABLE_TSAN)
  message(FATAL_ERROR "SABOT_ENABLE_ASAN and SABOT_ENABLE_TSAN cannot be combined; "
                      "configure separate build directories (make test-asan, make test-tsan)")
endif()
