#pragma once
// bfloat16: the upper 16 bits of an IEEE float (8 exponent bits, 8 significant bits: relative
// rounding error <= 2^-8), for weights read by float kernels. Products of two bf16 values are
// exact in float, so a dot product of bf16 pairs accumulated in float loses precision only in
// the rounding of its operands. AVX512_BF16's vdpbf16ps does 32 such products per
// instruction, twice the multiply-adds of a float FMA, from half the bytes.

#include <bit>
#include <cstddef>
#include <cstdint>

#include "rnnx/isa.hpp"
#include "rnnx/simd/batch.hpp"

#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

namespace RNNX_NAMESPACE {

struct bf16 {
  std::uint16_t bits = 0;

  bf16() = default;
  /// Round to nearest, ties to even (a NaN stays a NaN).
  explicit bf16(float value) noexcept {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      bits = static_cast<std::uint16_t>((u >> 16) | 0x40u);  // quiet NaN
    } else {
      const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
      bits = static_cast<std::uint16_t>((u + rounding) >> 16);
    }
  }
  explicit operator float() const noexcept {
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
  }
  friend constexpr bool operator==(bf16, bf16) = default;
};
static_assert(sizeof(bf16) == 2);

namespace simd {

/// Whether dot_pairs runs on vdpbf16ps (AVX512_BF16) rather than on float FMAs.
inline constexpr bool native_bf16_dot =
#if defined(__AVX512BF16__)
    width<float> == 16;
#else
    false;
#endif

/// Two bf16 values in one 32-bit word, the first in the low half: what dot_pairs broadcasts.
inline std::uint32_t bf16_pair(float first, float second) noexcept {
  return static_cast<std::uint32_t>(bf16(first).bits) |
         (static_cast<std::uint32_t>(bf16(second).bits) << 16);
}

/// Words to_bf16_pairs writes for Pairs pairs: whole registers' worth (8 pairs per 16 floats).
template <std::size_t Pairs>
inline constexpr std::size_t bf16_pair_words = (Pairs + 7) / 8 * 8;

/// pairs[p] = bf16_pair(x[2p], x[2p + 1]) for p < Pairs, x a padded vector (aligned; with
/// AVX-512 read in whole registers); pairs has room for bf16_pair_words<Pairs> words, those
/// past Pairs are unspecified.
template <std::size_t Pairs>
inline void to_bf16_pairs(const float* x, std::uint32_t* pairs) noexcept {
  constexpr std::size_t words = bf16_pair_words<Pairs>;
#if defined(__AVX512BF16__)
  if constexpr (width<float> == 16) {
    for (std::size_t p = 0; p < words; p += 8) {
      const __m256bh half = _mm512_cvtneps_pbh(_mm512_load_ps(x + 2 * p));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(pairs + p), std::bit_cast<__m256i>(half));
    }
    return;
  }
#endif
  for (std::size_t p = 0; p < Pairs; ++p) pairs[p] = bf16_pair(x[2 * p], x[2 * p + 1]);
  for (std::size_t p = Pairs; p < words; ++p) pairs[p] = 0;
}

/// For each lane i: acc + w[2i + 1] * x_second + w[2i] * x_first, each product exact and each
/// addition rounded, in that order (vdpbf16ps's definition; its denormals read as zero). w:
/// 2 * width<float> bf16 values, 64-byte aligned with AVX-512; xpair: bf16_pair(first, second).
inline batch<float> dot_pairs(const batch<float>& acc, const bf16* w,
                              std::uint32_t xpair) noexcept {
#if defined(__AVX512BF16__)
  if constexpr (width<float> == 16) {
    const __m512i pairs = _mm512_load_si512(static_cast<const void*>(w));
    const __m512i x = _mm512_set1_epi32(static_cast<int>(xpair));
    return batch<float>(
        _mm512_dpbf16_ps(acc, std::bit_cast<__m512bh>(pairs), std::bit_cast<__m512bh>(x)));
  }
#endif
  alignas(alignment) float first[width<float>];
  alignas(alignment) float second[width<float>];
  for (std::size_t i = 0; i < width<float>; ++i) {
    first[i] = static_cast<float>(w[2 * i]);
    second[i] = static_cast<float>(w[2 * i + 1]);
  }
  const float x_first = std::bit_cast<float>(xpair << 16);
  const float x_second = std::bit_cast<float>(xpair & 0xffff0000u);
  const batch<float> sum =
      simd::fma(load(static_cast<const float*>(second)), broadcast(x_second), acc);
  return simd::fma(load(static_cast<const float*>(first)), broadcast(x_first), sum);
}

}  // namespace simd
}  // namespace rnnx
