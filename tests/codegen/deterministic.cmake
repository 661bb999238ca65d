# rnnx-codegen writes the same bytes for the same input, wherever the input lies and however it
# is named on the command line. Arguments: -DPYTHON= -DTOOL= -DSOURCE= -DREFERENCE= (the header
# the build generated with the same OPTIONS) -DOPTIONS= (|-separated) -DWORK_DIR=
string(REPLACE "|" ";" options "${OPTIONS}")
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/elsewhere)
get_filename_component(name ${SOURCE} NAME)
file(COPY ${SOURCE} DESTINATION ${WORK_DIR}/elsewhere)

function(generate out source directory)
  execute_process(COMMAND ${PYTHON} ${TOOL} ${source} -o ${out} --quiet ${options}
                  WORKING_DIRECTORY ${directory} RESULT_VARIABLE r ERROR_VARIABLE err)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "rnnx-codegen failed: ${err}")
  endif()
endfunction()
generate(${WORK_DIR}/first.hpp ${SOURCE} ${WORK_DIR})
generate(${WORK_DIR}/second.hpp ${SOURCE} ${WORK_DIR})
generate(${WORK_DIR}/copy.hpp ${name} ${WORK_DIR}/elsewhere)

foreach(other second.hpp copy.hpp)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/first.hpp
                  ${WORK_DIR}/${other} RESULT_VARIABLE r)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "first.hpp and ${other} differ (in ${WORK_DIR})")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/first.hpp ${REFERENCE}
                RESULT_VARIABLE r)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "${WORK_DIR}/first.hpp differs from the build's ${REFERENCE}")
endif()
file(SIZE ${WORK_DIR}/first.hpp size)
message(STATUS "3 runs and the build's header: the same ${size} bytes")
