# rnnx_generate_header(): generate a typed model header with rnnx-codegen at build time
# (docs/codegen.md, "In a CMake build").
#
#   rnnx_generate_header(TARGET <target> WEIGHTS <file.json> NAME <Model>
#                        [NAMESPACE <ns>] [SCALAR float|double] [POINTER </json/pointer>]
#                        [OUTPUT_DIR <dir>] [SELF_TEST])
#
# adds a build step that runs rnnx-codegen on WEIGHTS and writes <OUTPUT_DIR>/<NAME>.hpp
# (re-run when WEIGHTS or the tool changes), makes <target> depend on it and puts OUTPUT_DIR on
# <target>'s include path, so that its sources can `#include "<NAME>.hpp"`. A relative WEIGHTS is
# taken from the current source directory, a relative OUTPUT_DIR from the current binary
# directory; OUTPUT_DIR defaults to ${CMAKE_CURRENT_BINARY_DIR}/rnnx_generated/<target>. The
# target still links rnnx::rnnx itself.
#
# SELF_TEST: WEIGHTS must carry a "reference" (export_torch.py writes one by default;
# docs/weights-format.md), and the call adds an executable <target>_<NAME>_self_test, built with
# the target's compile options and definitions, that runs the header's self_test_<NAME>(), and a
# CTest test of the same name running it (call enable_testing() first, as for any add_test): the
# model this build compiles must give PyTorch's reference outputs.
#
# Included by rnnxConfig.cmake (find_package(rnnx)) and by rnnx's own CMakeLists.txt. The tool
# is RNNX_CODEGEN_EXECUTABLE (a cache variable), found next to the installed package
# (<prefix>/bin, given by rnnxConfig.cmake) or in the source tree (codegen/); it is run by the
# Python 3 interpreter RNNX_CODEGEN_PYTHON (Python3_EXECUTABLE when set, else python3 on PATH).

include_guard(GLOBAL)

# Candidate directories: the includer's (rnnxConfig.cmake sets _rnnx_codegen_bindir to the
# installed bin/), then the source tree next to this file.
set(_rnnx_codegen_hints)
if(DEFINED _rnnx_codegen_bindir)
  list(APPEND _rnnx_codegen_hints "${_rnnx_codegen_bindir}")
endif()
list(APPEND _rnnx_codegen_hints "${CMAKE_CURRENT_LIST_DIR}/../codegen")
find_program(RNNX_CODEGEN_EXECUTABLE NAMES rnnx-codegen PATHS ${_rnnx_codegen_hints}
             NO_DEFAULT_PATH DOC "rnnx-codegen, the generator rnnx_generate_header() runs")
unset(_rnnx_codegen_hints)

if(Python3_EXECUTABLE)
  set(RNNX_CODEGEN_PYTHON "${Python3_EXECUTABLE}" CACHE FILEPATH
      "Python 3 interpreter that runs rnnx-codegen")
else()
  find_program(RNNX_CODEGEN_PYTHON NAMES python3 DOC "Python 3 interpreter that runs rnnx-codegen")
endif()

function(rnnx_generate_header)
  cmake_parse_arguments(PARSE_ARGV 0 arg "SELF_TEST"
                        "TARGET;WEIGHTS;NAME;NAMESPACE;SCALAR;POINTER;OUTPUT_DIR" "")
  set(fn "rnnx_generate_header")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${fn}: unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  foreach(required TARGET WEIGHTS NAME)
    if(NOT arg_${required})
      message(FATAL_ERROR "${fn}: ${required} is required")
    endif()
  endforeach()
  if(NOT TARGET ${arg_TARGET})
    message(FATAL_ERROR "${fn}: '${arg_TARGET}' is not a target (create it before this call)")
  endif()
  if(NOT arg_NAME MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "${fn}: NAME '${arg_NAME}' is not a C++ identifier")
  endif()
  if(DEFINED arg_SCALAR AND NOT arg_SCALAR MATCHES "^(float|double)$")
    message(FATAL_ERROR "${fn}: SCALAR must be float or double, not '${arg_SCALAR}'")
  endif()
  if(NOT RNNX_CODEGEN_EXECUTABLE)
    message(FATAL_ERROR "${fn}: rnnx-codegen not found (looked in the installed package's bin/ "
                        "and the source tree's codegen/); set RNNX_CODEGEN_EXECUTABLE")
  endif()
  if(NOT RNNX_CODEGEN_PYTHON)
    message(FATAL_ERROR "${fn}: rnnx-codegen needs Python 3, but python3 was not found; "
                        "set RNNX_CODEGEN_PYTHON")
  endif()

  get_filename_component(weights "${arg_WEIGHTS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT arg_OUTPUT_DIR)
    set(arg_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/rnnx_generated/${arg_TARGET}")
  endif()
  get_filename_component(dir "${arg_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  set(header "${dir}/${arg_NAME}.hpp")

  set(options --name ${arg_NAME})
  if(arg_NAMESPACE)
    list(APPEND options --namespace ${arg_NAMESPACE})
  endif()
  if(arg_SCALAR)
    list(APPEND options --scalar ${arg_SCALAR})
  endif()
  if(arg_POINTER)
    list(APPEND options --pointer ${arg_POINTER})
  endif()
  if(arg_SELF_TEST)
    list(APPEND options --require-reference)  # the header must have self_test_<NAME>()
  endif()

  # One rule per header: a second call for the same header (e.g. from another target sharing
  # OUTPUT_DIR) reuses it when it asks for the same thing.
  string(SHA1 key "${header}")
  set(request "${weights};${options}")
  get_property(known GLOBAL PROPERTY _rnnx_codegen_${key}_request SET)
  if(known)
    get_property(known_request GLOBAL PROPERTY _rnnx_codegen_${key}_request)
    get_property(step GLOBAL PROPERTY _rnnx_codegen_${key}_target)
    if(NOT known_request STREQUAL request)
      string(REPLACE ";" " " known_request "${known_request}")
      message(FATAL_ERROR "${fn}: ${header} is already generated by another call, as "
                          "'rnnx-codegen ${known_request}'; give this call another NAME or "
                          "OUTPUT_DIR")
    endif()
  else()
    file(MAKE_DIRECTORY "${dir}")
    add_custom_command(OUTPUT "${header}"
      COMMAND "${RNNX_CODEGEN_PYTHON}" "${RNNX_CODEGEN_EXECUTABLE}" "${weights}" -o "${header}"
              ${options} --quiet
      DEPENDS "${weights}" "${RNNX_CODEGEN_EXECUTABLE}"
      COMMENT "rnnx-codegen: ${arg_NAME}.hpp from ${arg_WEIGHTS}"
      VERBATIM)
    # A target of its own, so that targets in any directory can depend on the header.
    string(SUBSTRING "${key}" 0 10 short)
    set(step "rnnx_codegen_${arg_NAME}_${short}")
    add_custom_target(${step} DEPENDS "${header}")
    set_property(GLOBAL PROPERTY _rnnx_codegen_${key}_request "${request}")
    set_property(GLOBAL PROPERTY _rnnx_codegen_${key}_target "${step}")
  endif()

  add_dependencies(${arg_TARGET} ${step})
  get_target_property(type ${arg_TARGET} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${arg_TARGET} INTERFACE "${dir}")
  else()
    target_include_directories(${arg_TARGET} PRIVATE "${dir}")
  endif()
  if(arg_SELF_TEST)
    _rnnx_add_self_test(${arg_TARGET} ${arg_NAME} "${arg_NAMESPACE}" "${dir}" ${step} ${type})
  endif()
endfunction()

# The executable and CTest test of rnnx_generate_header(SELF_TEST): a main() that runs
# <namespace>::self_test_<name>() from <dir>/<name>.hpp (generated by <step>).
function(_rnnx_add_self_test target name namespace dir step type)
  set(test ${target}_${name}_self_test)
  if(TARGET ${test})
    return()  # a second call for the same header and target: one test is enough
  endif()
  set(call "self_test_${name}")
  if(namespace)
    set(call "${namespace}::${call}")
  endif()
  set(source "${dir}/${name}_self_test.cpp")
  file(CONFIGURE OUTPUT "${source}" CONTENT [=[
// Generated by rnnx_generate_header(SELF_TEST): the model of @name@.hpp must give the reference
// outputs its weight file carries (docs/weights-format.md).
#include <cstdio>

#include "@name@.hpp"

int main() {
  if (@call@()) {
    std::puts("@name@: the outputs match the weight file's reference");
    return 0;
  }
  std::puts("@name@: the outputs differ from the weight file's reference (self_test_@name@)");
  return 1;
}
]=] @ONLY)
  add_executable(${test} "${source}")
  add_dependencies(${test} ${step})
  target_include_directories(${test} PRIVATE "${dir}")
  target_link_libraries(${test} PRIVATE rnnx::rnnx)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")  # the flags the model is built with
    target_compile_options(${test} PRIVATE $<TARGET_PROPERTY:${target},COMPILE_OPTIONS>)
    target_compile_definitions(${test} PRIVATE $<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>)
  endif()
  add_test(NAME ${test} COMMAND ${test})
endfunction()
