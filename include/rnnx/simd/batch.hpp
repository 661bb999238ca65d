#pragma once
// The only place that names xsimd's batch type: everything else speaks rnnx::simd.

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE::simd {

/// One SIMD register of T for the architecture this translation unit is compiled for.
template <class T>
using batch = xsimd::batch<T>;

/// Heap storage for sequences, aligned like every fixed-size buffer.
template <class T>
using aligned_vector = std::vector<T, xsimd::aligned_allocator<T, 64>>;

/// Lanes per register (16 floats with AVX-512, 4 with SSE2).
template <class T>
inline constexpr std::size_t width = batch<T>::size;

/// Architectural vector registers of the instruction set this translation unit targets: 32
/// with AVX-512 and on AArch64, 16 with SSE2 and AVX2 on x86-64.
#if defined(__AVX512F__) || defined(__aarch64__)
#define RNNX_VECTOR_REGISTERS 32
#else
#define RNNX_VECTOR_REGISTERS 16
#endif
inline constexpr std::size_t vector_registers = RNNX_VECTOR_REGISTERS;

/// Every buffer is aligned to a cache line, which is at least a register's alignment.
inline constexpr std::size_t alignment = 64;
static_assert(alignment % alignof(batch<float>) == 0 && alignment % alignof(batch<double>) == 0);

/// N rounded up to whole registers: kernels never need a scalar tail.
template <class T>
constexpr std::size_t padded(std::size_t n) noexcept {
  return (n + width<T> - 1) / width<T> * width<T>;
}

/// Whole registers needed for n values.
template <class T>
constexpr std::size_t registers(std::size_t n) noexcept {
  return padded<T>(n) / width<T>;
}

template <class T>
inline batch<T> load(const T* p) noexcept {
  return batch<T>::load_aligned(p);
}

template <class T>
inline void store(T* p, const batch<T>& v) noexcept {
  v.store_aligned(p);
}

/// dst = src for N values (a multiple of the width), a register at a time: g++ makes a
/// std::copy_n of a few registers a call to memmove.
template <std::size_t N, class T>
[[gnu::always_inline]] inline void copy(const T* src, T* dst) noexcept {
  static_assert(N % width<T> == 0);
  [&]<std::size_t... I>(std::index_sequence<I...>) __attribute__((always_inline)) {
    (store(dst + I * width<T>, load(src + I * width<T>)), ...);
  }
  (std::make_index_sequence<N / width<T>>{});
}

template <class T>
inline batch<T> broadcast(T v) noexcept {
  return batch<T>(v);
}

// Fused multiply-adds that are fused on every instruction set that has them. xsimd 8.1 has no
// AVX-512 kernel for fma: its generic fallback writes x * y + z, which g++ fuses or not
// depending on the inlining context under -ffp-contract=fast (the GNU modes' default), and
// never under -ffp-contract=off. So one expression could round differently in a step and in a
// sequence. Here AVX-512 registers go to the intrinsics; other instruction sets keep xsimd's
// kernels (real FMAs with FMA3 or NEON; a multiply and an add where there is no FMA).

/// a * b + c, rounded once.
template <class T>
inline batch<T> fma(const batch<T>& a, const batch<T>& b,
                                           const batch<T>& c) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && sizeof(batch<T>) == 64)
    return _mm512_fmadd_ps(a, b, c);
  else if constexpr (std::is_same_v<T, double> && sizeof(batch<T>) == 64)
    return _mm512_fmadd_pd(a, b, c);
  else
#endif
    return xsimd::fma(a, b, c);
}

/// c - a * b, rounded once.
template <class T>
inline batch<T> fnma(const batch<T>& a, const batch<T>& b,
                                            const batch<T>& c) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && sizeof(batch<T>) == 64)
    return _mm512_fnmadd_ps(a, b, c);
  else if constexpr (std::is_same_v<T, double> && sizeof(batch<T>) == 64)
    return _mm512_fnmadd_pd(a, b, c);
  else
#endif
    return xsimd::fnma(a, b, c);
}

/// a * b - c, rounded once.
template <class T>
inline batch<T> fms(const batch<T>& a, const batch<T>& b,
                                           const batch<T>& c) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && sizeof(batch<T>) == 64)
    return _mm512_fmsub_ps(a, b, c);
  else if constexpr (std::is_same_v<T, double> && sizeof(batch<T>) == 64)
    return _mm512_fmsub_pd(a, b, c);
  else
#endif
    return xsimd::fms(a, b, c);
}

/// a / b, correctly rounded on every instruction set: xsimd 8.1 divides AArch64 floats by a
/// reciprocal estimate and two Newton steps (tanh's error grew from 2.8e-7 to 3.4e-7).
template <class T>
inline batch<T> div(const batch<T>& a, const batch<T>& b) noexcept {
#if defined(__aarch64__)
  if constexpr (std::is_same_v<T, float>) return batch<T>(vdivq_f32(a, b));
#endif
  return a / b;
}

/// Lane-wise maximum, square root and choice (mask ? a : b).
template <class T>
inline batch<T> max(const batch<T>& a, const batch<T>& b) noexcept {
  return xsimd::max(a, b);
}
template <class T>
inline batch<T> sqrt(const batch<T>& x) noexcept {
  return xsimd::sqrt(x);
}
template <class Mask, class T>
inline batch<T> select(const Mask& mask, const batch<T>& a, const batch<T>& b) noexcept {
  return xsimd::select(mask, a, b);
}

/// Sum of all lanes.
template <class T>
inline T reduce_add(const batch<T>& v) noexcept {
  return xsimd::hadd(v);
}

}  // namespace rnnx::simd
