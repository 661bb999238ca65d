#pragma once
// Flush-to-zero and denormals-are-zero for the scope of a real-time callback.
//
// A recurrent model fed silence decays its state towards zero; once values fall below
// ~1.2e-38 (float) the CPU handles them as denormals, on many cores through a slow microcode
// path, and a step's time can jump by an order of magnitude. Audio and control code therefore
// runs with the FTZ and DAZ bits of the floating-point control register set:
//
//   void process(const float* in, float* out, int n) {
//     rnnx::denormal_guard guard;   // sets FTZ + DAZ, restores the caller's mode on exit
//     for (int i = 0; i < n; ++i) out[i] = model.step(in[i], state)[0];
//   }
//
// The guard changes only the calling thread's mode, costs two register writes, and nests. On
// x86 it sets MXCSR's FTZ and DAZ bits; on AArch64 FPCR.FZ (which covers both); elsewhere it
// does nothing and `supported` is false.

#if defined(__x86_64__) || defined(_M_X64) || defined(__SSE2__)
#include <xmmintrin.h>
#define RNNX_DENORMAL_GUARD_X86 1
#elif defined(__aarch64__)
#define RNNX_DENORMAL_GUARD_ARM64 1
#endif

#include <cstdint>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

class denormal_guard {
 public:
#if defined(RNNX_DENORMAL_GUARD_X86)
  static constexpr bool supported = true;
  static constexpr std::uint32_t flush_bits = 0x8040;  // FTZ (bit 15) | DAZ (bit 6)
#elif defined(RNNX_DENORMAL_GUARD_ARM64)
  static constexpr bool supported = true;
  static constexpr std::uint64_t flush_bits = std::uint64_t{1} << 24;  // FPCR.FZ
#else
  static constexpr bool supported = false;
#endif

  denormal_guard() noexcept {
#if defined(RNNX_DENORMAL_GUARD_X86)
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | flush_bits);
#elif defined(RNNX_DENORMAL_GUARD_ARM64)
    saved_ = read_fpcr();
    write_fpcr(saved_ | flush_bits);
#endif
  }
  ~denormal_guard() {
#if defined(RNNX_DENORMAL_GUARD_X86)
    _mm_setcsr(saved_);
#elif defined(RNNX_DENORMAL_GUARD_ARM64)
    write_fpcr(saved_);
#endif
  }
  denormal_guard(const denormal_guard&) = delete;
  denormal_guard& operator=(const denormal_guard&) = delete;

  /// Whether the calling thread currently flushes denormals to zero.
  static bool active() noexcept {
#if defined(RNNX_DENORMAL_GUARD_X86)
    return (_mm_getcsr() & flush_bits) == flush_bits;
#elif defined(RNNX_DENORMAL_GUARD_ARM64)
    return (read_fpcr() & flush_bits) == flush_bits;
#else
    return false;
#endif
  }

 private:
#if defined(RNNX_DENORMAL_GUARD_X86)
  unsigned int saved_;
#elif defined(RNNX_DENORMAL_GUARD_ARM64)
  static std::uint64_t read_fpcr() noexcept {
    std::uint64_t value;
    asm volatile("mrs %0, fpcr" : "=r"(value));
    return value;
  }
  static void write_fpcr(std::uint64_t value) noexcept {
    asm volatile("msr fpcr, %0" : : "r"(value));
  }
  std::uint64_t saved_;
#endif
};

}  // namespace rnnx
