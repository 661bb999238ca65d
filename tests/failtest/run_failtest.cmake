# A program that must not compile (Eigen's failtest idea): the source compiles cleanly
# without RNNX_FAILTEST, and with it fails with a message matching EXPECTED.
# Arguments: -DCOMPILER= -DSOURCE= -DINCLUDE_DIR= -DEXPECTED=
set(common -std=c++20 -fsyntax-only -I${INCLUDE_DIR} ${SOURCE})
execute_process(COMMAND ${COMPILER} ${common} RESULT_VARIABLE good_result ERROR_VARIABLE good_output)
if(NOT good_result EQUAL 0)
  message(FATAL_ERROR "the valid variant of ${SOURCE} does not compile:\n${good_output}")
endif()
execute_process(COMMAND ${COMPILER} ${common} -DRNNX_FAILTEST
                RESULT_VARIABLE bad_result ERROR_VARIABLE bad_output)
if(bad_result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled with RNNX_FAILTEST but must not")
endif()
if(NOT bad_output MATCHES "${EXPECTED}")
  message(FATAL_ERROR "the compiler's message for ${SOURCE} lacks '${EXPECTED}':\n${bad_output}")
endif()
string(REGEX MATCHALL "error:" errors "${bad_output}")
list(LENGTH errors error_count)
if(NOT error_count EQUAL 1)
  message(FATAL_ERROR "expected exactly one error for ${SOURCE}, got ${error_count}:\n${bad_output}")
endif()
message(STATUS "${SOURCE}: rejected with one readable error")
