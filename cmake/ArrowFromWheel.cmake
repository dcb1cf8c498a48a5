# Imports Arrow C++ from the pinned pyarrow wheel: the wheel ships headers and
# versioned shared libraries (libarrow.so.NNNN) but no CMake package, so the targets
# are declared here. Binaries get an RPATH to the wheel directory and run without
# LD_LIBRARY_PATH.
# scikit-build-core names the interpreter it builds for.
if(NOT SABOT_PYTHON AND Python_EXECUTABLE)
  set(SABOT_PYTHON "${Python_EXECUTABLE}")
endif()
if(NOT SABOT_PYTHON)
  find_program(SABOT_PYTHON NAMES python3 REQUIRED)
endif()
execute_process(
  COMMAND "${SABOT_PYTHON}" -c
          "import pyarrow; print(pyarrow.get_include()); print(pyarrow.get_library_dirs()[0]); print(pyarrow.__version__)"
  OUTPUT_VARIABLE _sabot_pyarrow_info
  RESULT_VARIABLE _sabot_pyarrow_result
  ERROR_VARIABLE _sabot_pyarrow_error
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _sabot_pyarrow_result EQUAL 0)
  message(FATAL_ERROR "Cannot import pyarrow with ${SABOT_PYTHON}: ${_sabot_pyarrow_error}\n"
                      "Run `make setup` (creates .venv from requirements.txt) or pass "
                      "-DSABOT_PYTHON=/path/to/python with pyarrow installed.")
endif()
string(REPLACE "\n" ";" _sabot_pyarrow_info "${_sabot_pyarrow_info}")
list(GET _sabot_pyarrow_info 0 SABOT_ARROW_INCLUDE_DIR)
list(GET _sabot_pyarrow_info 1 SABOT_ARROW_LIB_DIR)
list(GET _sabot_pyarrow_info 2 SABOT_PYARROW_VERSION)

file(STRINGS "${SABOT_ARROW_INCLUDE_DIR}/arrow/util/config.h" _sabot_so_line
     REGEX "#define ARROW_SO_VERSION")
string(REGEX MATCH "\"([0-9]+)\"" _ "${_sabot_so_line}")
set(SABOT_ARROW_SO_VERSION "${CMAKE_MATCH_1}")
message(STATUS "Arrow C++ ${SABOT_PYARROW_VERSION} from pyarrow wheel: ${SABOT_ARROW_LIB_DIR}")

function(sabot_import_arrow_library target file_stem)
  set(_path "${SABOT_ARROW_LIB_DIR}/${file_stem}.so.${SABOT_ARROW_SO_VERSION}")
  if(NOT EXISTS "${_path}")
    message(FATAL_ERROR "pyarrow wheel lacks ${_path}")
  endif()
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${_path}"
    INTERFACE_INCLUDE_DIRECTORIES "${SABOT_ARROW_INCLUDE_DIR}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${SABOT_ARROW_INCLUDE_DIR}")
endfunction()

sabot_import_arrow_library(Arrow::arrow libarrow)
sabot_import_arrow_library(Arrow::compute libarrow_compute)
sabot_import_arrow_library(Arrow::acero libarrow_acero)
sabot_import_arrow_library(Arrow::parquet libparquet)
set_property(TARGET Arrow::compute PROPERTY INTERFACE_LINK_LIBRARIES Arrow::arrow)
set_property(TARGET Arrow::acero PROPERTY INTERFACE_LINK_LIBRARIES Arrow::compute)
set_property(TARGET Arrow::parquet PROPERTY INTERFACE_LINK_LIBRARIES Arrow::arrow)

list(APPEND CMAKE_BUILD_RPATH "${SABOT_ARROW_LIB_DIR}")
list(APPEND CMAKE_INSTALL_RPATH "${SABOT_ARROW_LIB_DIR}")
