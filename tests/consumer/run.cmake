# Installs rnnx from the build tree into a scratch prefix, then builds and runs the consumer
# (a copy of it, whose weight file this script then changes).
# Arguments: -DRNNX_BUILD_DIR= -DCONSUMER_SOURCE= -DWORK_DIR= -DRTNEURAL_MODEL=
#            -DREFERENCE_MODEL= (a weight file with a "reference", copied in as reference_model.json)
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${RNNX_BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE r OUTPUT_QUIET)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
# The exporter and importers are installed as commands: the RTNeural importer (standard
# library only) converts a file; the others need torch or onnx, so only their presence is
# checked here (tests/export_torch_test.py and the codegen tests run their code).
foreach(command rnnx-export-torch rnnx-import-onnx rnnx-import-rtneural)
  if(NOT EXISTS ${WORK_DIR}/prefix/bin/${command})
    message(FATAL_ERROR "cmake --install did not install ${command}")
  endif()
endforeach()
execute_process(COMMAND ${WORK_DIR}/prefix/bin/rnnx-import-rtneural ${RTNEURAL_MODEL}
                -o ${WORK_DIR}/imported.json RESULT_VARIABLE r ERROR_VARIABLE err)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "the installed rnnx-import-rtneural failed: ${err}")
endif()
file(READ ${WORK_DIR}/imported.json imported)
if(NOT imported MATCHES "\"format\": \"rnnx.weights\"")
  message(FATAL_ERROR "rnnx-import-rtneural wrote no rnnx weight file")
endif()
file(COPY ${CONSUMER_SOURCE}/ DESTINATION ${WORK_DIR}/source)
file(COPY_FILE ${REFERENCE_MODEL} ${WORK_DIR}/source/reference_model.json)
set(build ${WORK_DIR}/build)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK_DIR}/source -B ${build}
                -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix RESULT_VARIABLE r)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "configuring the consumer with find_package(rnnx) failed")
endif()

# rnnx_generate_header() must run the rnnx-codegen installed with the package.
load_cache(${build} READ_WITH_PREFIX consumer_ RNNX_CODEGEN_EXECUTABLE)
file(REAL_PATH ${WORK_DIR}/prefix/bin/rnnx-codegen installed_tool)
file(REAL_PATH "${consumer_RNNX_CODEGEN_EXECUTABLE}" used_tool)
if(NOT used_tool STREQUAL installed_tool)
  message(FATAL_ERROR "rnnx_generate_header uses '${used_tool}', not the installed "
                      "'${installed_tool}'")
endif()

function(build_and_run what)
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} RESULT_VARIABLE r)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "building the consumer failed (${what})")
  endif()
  foreach(program consumer consumer_codegen consumer_dispatch consumer_io)
    execute_process(COMMAND ${build}/${program} RESULT_VARIABLE r)
    if(NOT r EQUAL 0)
      message(FATAL_ERROR "the consumer's ${program} ran but failed (${what})")
    endif()
  endforeach()
endfunction()

set(header ${build}/rnnx_generated/consumer_codegen/ConsumerModel.hpp)
build_and_run("first build")

# The user's CTest runs the self-test rnnx_generate_header(SELF_TEST) added.
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${build} --output-on-failure
                RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT r EQUAL 0 OR NOT out MATCHES "consumer_reference_ReferenceModel_self_test[ .]*Passed")
  message(FATAL_ERROR "the consumer's CTest did not pass the generated self-test:\n${out}")
endif()
file(READ ${header} first_header)

# A changed weight file regenerates the header (consumer_codegen compares it with load_weights
# of the file as it is now, so a stale header fails).
set(weights ${WORK_DIR}/source/model.json)
file(READ ${weights} text)
string(REGEX REPLACE "(\"weight_ih\": \\[[ \n]*\\[)[-0-9.e]+" "\\10.25" changed "${text}")
if(changed STREQUAL text)
  message(FATAL_ERROR "could not change a weight in ${weights}")
endif()
file(WRITE ${weights} "${changed}")
build_and_run("after changing model.json")
file(READ ${header} second_header)
if(second_header STREQUAL first_header)
  message(FATAL_ERROR "${header} was not regenerated after model.json changed")
endif()
