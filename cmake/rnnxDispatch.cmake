# rnnx_add_dispatched_sources(): one program for every CPU (rnnx/dispatch/model.hpp).
#
#   rnnx_add_dispatched_sources(<target> SOURCES <file.cpp>... [LINK <library>...]
#                               [VARIANTS <isa>...])
#
# compiles each SOURCES file (a translation unit holding RNNX_DISPATCHED_MODEL) once per
# instruction set, adds the objects to <target>, and makes the baseline's compilation define
# the factory that picks the best variant the CPU runs. x86-64: sse2 (the baseline), avx2
# (AVX2 + FMA), avx512 (AVX-512 F/DQ/BW/VL) and avx512_bf16 (adds AVX512_BF16); variants the
# compiler cannot build are left out. AArch64: neon64 alone. VARIANTS narrows the x86-64 list
# (sse2 stays: it is the baseline). LINK: libraries each variant compiles against (rnnx::rnnx
# always), e.g. for warning flags; they must not add -march flags, which would override the
# variants'. The variants built are listed in <target>'s property RNNX_DISPATCH_VARIANTS.
#
# The rest of <target> must be compiled for the baseline (no -march=native): the linker keeps
# one copy of each inline function shared by all translation units, the first it sees, and the
# baseline objects come first so that copy runs on every CPU.

include_guard(GLOBAL)
include(CheckCXXCompilerFlag)

function(rnnx_add_dispatched_sources target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LINK;VARIANTS")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "rnnx_add_dispatched_sources(${target}): no SOURCES")
  endif()
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    set(variants sse2 avx2 avx512 avx512_bf16)
    if(arg_VARIANTS)
      set(variants sse2 ${arg_VARIANTS})
      list(REMOVE_DUPLICATES variants)
    endif()
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
    set(variants neon64)
  else()
    set(variants generic)
  endif()
  set(flags_sse2 "")
  set(flags_avx2 -mavx2 -mfma)
  set(flags_avx512 -mavx2 -mfma -mavx512f -mavx512dq -mavx512bw -mavx512vl)
  set(flags_avx512_bf16 ${flags_avx512} -mavx512bf16)
  set(flags_neon64 "")
  set(flags_generic "")
  set(baseline TRUE)
  set(built)
  foreach(variant IN LISTS variants)
    if(NOT DEFINED flags_${variant})
      message(FATAL_ERROR "rnnx_add_dispatched_sources(${target}): unknown variant '${variant}' (x86-64: avx2 avx512 avx512_bf16)")
    endif()
    set(flags ${flags_${variant}})
    if(flags)
      string(REPLACE ";" " " joined "${flags}")
      string(MAKE_C_IDENTIFIER "rnnx_cxx_flags_${variant}" check)
      set(CMAKE_REQUIRED_FLAGS "${joined}")
      check_cxx_compiler_flag("${joined}" ${check})
      unset(CMAKE_REQUIRED_FLAGS)
      if(NOT ${check})
        message(STATUS "rnnx: ${target}: the compiler cannot build the ${variant} variant; left out")
        continue()
      endif()
    endif()
    set(objects ${target}_rnnx_${variant})
    add_library(${objects} OBJECT ${arg_SOURCES})
    target_link_libraries(${objects} PRIVATE rnnx::rnnx ${arg_LINK})
    target_compile_options(${objects} PRIVATE ${flags})
    target_compile_definitions(${objects} PRIVATE RNNX_DISPATCH_VARIANT=${variant})
    if(baseline)
      target_compile_definitions(${objects} PRIVATE RNNX_DISPATCH_BASELINE)
      set(baseline FALSE)
    endif()
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${objects}>)
    target_link_libraries(${target} PRIVATE rnnx::rnnx)
    list(APPEND built ${variant})
  endforeach()
  set_property(TARGET ${target} APPEND PROPERTY RNNX_DISPATCH_VARIANTS ${built})
endfunction()
