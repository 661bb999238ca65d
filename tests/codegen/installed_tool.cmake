# Installs rnnx from the build tree into a scratch prefix and runs the installed rnnx-codegen
# as a user would: by its path, relying on its own #! line.
# Arguments: -DRNNX_BUILD_DIR= -DSOURCE= (a fixture) -DWORK_DIR=
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${RNNX_BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE r OUTPUT_QUIET)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
set(tool ${WORK_DIR}/prefix/bin/rnnx-codegen)
if(NOT EXISTS ${tool})
  message(FATAL_ERROR "${tool} was not installed")
endif()
execute_process(COMMAND ${tool} ${SOURCE} --pointer /model -o ${WORK_DIR}/model.hpp
                RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT r EQUAL 0 OR NOT out MATCHES "network: lstm<3, 33> -> dense<33, 2, tanh> \\(float\\)"
   OR NOT EXISTS ${WORK_DIR}/model.hpp)
  message(FATAL_ERROR "the installed rnnx-codegen failed (${r}): ${out}${err}")
endif()
message(STATUS "${out}")
