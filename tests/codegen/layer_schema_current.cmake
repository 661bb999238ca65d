# codegen/layers.json must be what the layers describe: runs rnnx-layers (TOOL) into OUT and
# compares it with EXPECTED.
execute_process(COMMAND ${TOOL} ${OUT} RESULT_VARIABLE result ERROR_VARIABLE error)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "rnnx-layers failed (${result}): ${error}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT} ${EXPECTED} RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "${EXPECTED} is not what the layers describe (a layer changed its "
                      "describe() or a type was added): regenerate it with\n  ${TOOL} ${EXPECTED}")
endif()
