#pragma once
// The instruction set a translation unit is compiled for, and the namespace that keeps each
// instruction set's code apart in a program built for several.
//
// Every rnnx header opens `namespace RNNX_NAMESPACE`: plain `rnnx`, except in the translation
// units rnnx_add_dispatched_sources compiles once per instruction set (RNNX_DISPATCH_VARIANT
// defined; rnnx/dispatch/), where it is `rnnx::inline RNNX_ISA` (say rnnx::avx2). User code
// writes rnnx:: either way. A network's layout (its SIMD padding) and every kernel differ with
// the instruction set, so the variants' inline functions must not share names: the linker
// would keep one copy of each for the whole program, perhaps the AVX-512 one on an AVX2
// machine. Elsewhere the plain name keeps compiler messages short ("rnnx::lstm<16, 64>").

#if defined(__AVX512F__) && defined(__AVX512BF16__)
#define RNNX_ISA avx512_bf16
#elif defined(__AVX512F__)
#define RNNX_ISA avx512
#elif defined(__AVX2__) && defined(__FMA__)
#define RNNX_ISA avx2
#elif defined(__AVX__)
#define RNNX_ISA avx
#elif defined(__aarch64__)
#define RNNX_ISA neon64
#elif defined(__SSE2__)
#define RNNX_ISA sse2
#else
#define RNNX_ISA generic
#endif

#define RNNX_STRINGIFY_DETAIL(x) #x
#define RNNX_STRINGIFY(x) RNNX_STRINGIFY_DETAIL(x)

#if defined(RNNX_DISPATCH_VARIANT)
#define RNNX_NAMESPACE rnnx::inline RNNX_ISA
#else
#define RNNX_NAMESPACE rnnx
#endif

namespace RNNX_NAMESPACE {

/// The name of the instruction set this translation unit's rnnx code is compiled for.
inline constexpr const char* instruction_set = RNNX_STRINGIFY(RNNX_ISA);

}  // namespace RNNX_NAMESPACE
