#pragma once
// Vectorised exp, sigmoid, tanh, relu and elu: the one activation policy every layer uses.
//
// float: branch-free Cephes-style kernels (no lane pays for another lane's slow path).
// Maximum errors over every 211th float bit pattern of both signs (tests/simd_math_test.cpp
// asserts the bounds; measured with AVX-512 FMA in parentheses):
//   exp      relative error <= 2e-7   (1.19e-7) where the result is a normal float
//   sigmoid  absolute error <= 2.5e-7 (1.5e-7; 1.8e-7 on SSE2, no FMA): (1 + tanh(x/2)) / 2
//   tanh     absolute error <= 4e-7   (2.4e-7; 3.3e-7 on SSE2), relative <= 3e-7 for
//            |x| < 0.625 (2.8e-7): a rational function, no exp (see tanh_float)
// double: xsimd's accurate exp/tanh (about 1 ulp), since double users ask for accuracy.
// All functions propagate NaN; exp(+inf) = inf, exp(-inf) = 0; float tanh and sigmoid reach
// their limits to within their error (tanh(+-inf) = +-(1 - 2.4e-7)); double ones exactly.

#include <cstdint>
#include <limits>

#include "rnnx/isa.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::simd {

// Every function here is forced inline: a call leaves every vector register of the caller's
// gate sums spilled around it (all are caller-saved), and g++ did leave tanh and sigmoid
// calls in a translation unit of many cells (rnnx::dynamic's ten: LSTM(1->8) steps 2x slower).

namespace detail {

[[gnu::always_inline]] inline batch<float> exp_float(const batch<float>& x) noexcept {
  using B = batch<float>;
  using I = batch<std::int32_t>;
  const B max_arg(88.72283935546875f);    // above: exp overflows
  const B min_arg(-103.97208404541016f);  // below: exp rounds to zero, even as a denormal
  const B xc = xsimd::min(xsimd::max(x, min_arg), max_arg);

  // exp(x) = 2^n exp(r), |r| <= ln(2)/2; ln 2 split in two so that n * ln2_hi is exact.
  const B n = xsimd::nearbyint(xc * B(1.44269504088896341f));
  B r = simd::fnma(n, B(0.693359375f), xc);
  r = simd::fnma(n, B(-2.12194440e-4f), r);

  B p(1.9875691500e-4f);
  p = simd::fma(p, r, B(1.3981999507e-3f));
  p = simd::fma(p, r, B(8.3334519073e-3f));
  p = simd::fma(p, r, B(4.1665795894e-2f));
  p = simd::fma(p, r, B(1.6666665459e-1f));
  p = simd::fma(p, r, B(5.0000001201e-1f));
  B y = simd::fma(p, r * r, r + B(1.0f));

#if defined(__AVX512F__)
  if constexpr (width<float> == 16) {
    // One instruction scales by 2^n with IEEE overflow to inf and gradual underflow to 0,
    // replacing ten on the critical path of every gate.
    y = B(_mm512_scalef_ps(y, n));
    y = xsimd::select(x > max_arg, B(std::numeric_limits<float>::infinity()), y);
    return xsimd::select(xsimd::isnan(x), x, y);
  }
#endif
  // 2^n applied in two halves so that neither factor over- or underflows (n in [-150, 128]).
  const I ni = xsimd::to_int(n);
  const I n1 = ni >> 1;
  const I n2 = ni - n1;
  const B s1 = xsimd::bitwise_cast<B>((n1 + I(127)) << 23);
  const B s2 = xsimd::bitwise_cast<B>((n2 + I(127)) << 23);
  y = (y * s1) * s2;

  y = xsimd::select(x > max_arg, B(std::numeric_limits<float>::infinity()), y);
  y = xsimd::select(x < min_arg, B(0.0f), y);
  return xsimd::select(xsimd::isnan(x), x, y);
}

/// tanh's rational function (odd degree-13 numerator, even degree-6 denominator; Eigen's
/// generic_fast_tanh_float coefficients) for tanh(x / Halve), Halve = 1 or 2: the halving is
/// folded into the coefficients (c_k / Halve^(2k+1) for x^(2k+1), c_k / Halve^(2k) for x^(2k)),
/// exactly, since scaling by a power of two is exact; so sigmoid's tanh(x / 2) does not start
/// with a multiplication. x: the argument already clamped, x2 = x * x.
template <int Halve>
struct tanh_rational {
  static_assert(Halve == 1 || Halve == 2);
  static constexpr float h = Halve, h2 = h * h;
  /// Where tanh(x / Halve) reaches 1 in float.
  static constexpr float bound = 7.90531110763549805f * h;
  /// x^2 below which tanh(x / Halve) = x / Halve to float precision.
  static constexpr float tiny_square = 1.6e-7f * h2;
  using B = batch<float>;
  [[gnu::always_inline]] static B numerator(const B& x, const B& x2) noexcept {
    B p = simd::fma(x2, B(-2.76076847742355e-16f / (h * h2 * h2 * h2 * h2 * h2 * h2)),
                    B(2.00018790482477e-13f / (h * h2 * h2 * h2 * h2 * h2)));
    p = simd::fma(x2, p, B(-8.60467152213735e-11f / (h * h2 * h2 * h2 * h2)));
    p = simd::fma(x2, p, B(5.12229709037114e-08f / (h * h2 * h2 * h2)));
    p = simd::fma(x2, p, B(1.48572235717979e-05f / (h * h2 * h2)));
    p = simd::fma(x2, p, B(6.37261928875436e-04f / (h * h2)));
    p = simd::fma(x2, p, B(4.89352455891786e-03f / h));
    return x * p;
  }
  [[gnu::always_inline]] static B denominator(const B& x2) noexcept {
    B q = simd::fma(x2, B(1.19825839466702e-06f / (h2 * h2 * h2)),
                    B(1.18534705686654e-04f / (h2 * h2)));
    q = simd::fma(x2, q, B(2.26843463243900e-03f / h2));
    return simd::fma(x2, q, B(4.89352518554385e-03f));
  }
};

/// tanh(x / Halve) (Halve = 2: sigmoid's) as tanh_rational on x clamped to +-bound: a dozen
/// FMAs and a quotient, no exp. Measured 31% faster LSTM(1->32) steps than the exp-based form
/// it replaced, for 2.4e-7 instead of 7.6e-8 maximum absolute error; +-inf give
/// +-(1 - 2.4e-7). Every streaming step waits for two of these in a row (a gate, then
/// tanh(c)), so with AVX-512 the quotient comes from vrcp14ps refined by one exact-residual
/// step, q0 = p r, q = q0 + r (p - d q0) (within a rounding of p / d), instead of vdivps,
/// which occupies the divider ten cycles per register; and the clamp is one vrangeps.
/// Measured in a standalone step loop: LSTM(1->16) steps 11% faster, same error bounds; bf16
/// LSTM(1->128) steps ~10% slower (not analysed).
template <int Halve>
[[gnu::always_inline]] inline batch<float> tanh_float(const batch<float>& a) noexcept {
  using B = batch<float>;
  using rational = tanh_rational<Halve>;
  const B scaled_a = Halve == 1 ? a : a * B(1.0f / rational::h);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  if constexpr (width<float> == 16) {
    // imm 0b0010: the operand of smaller magnitude, with the sign of the first.
    const B x(_mm512_range_ps(a, _mm512_set1_ps(rational::bound), 0b0010));
    const B x2 = x * x;
    const B p = rational::numerator(x, x2);
    const B d = rational::denominator(x2);
    const B r(_mm512_rcp14_ps(d));
    const B q0 = p * r;
    const B q = simd::fma(r, simd::fnma(d, q0, p), q0);
    // Tiny |x| (+-0 included) give x / Halve; so does NaN, which vrangeps would clamp.
    const __mmask16 tiny_or_nan =
        _mm512_cmp_ps_mask(a * a, _mm512_set1_ps(rational::tiny_square), _CMP_NGE_UQ);
    return B(_mm512_mask_mov_ps(q, tiny_or_nan, scaled_a));
  }
#endif
  // Operand order matters: min/max return their second operand when one is NaN, so NaN
  // passes through the clamp and the rational function.
  const B bound(rational::bound);
  const B x = xsimd::max(-bound, xsimd::min(bound, a));
  const B x2 = x * x;
  return xsimd::select(x2 < B(rational::tiny_square), scaled_a,
                       simd::div(rational::numerator(x, x2), rational::denominator(x2)));
}

}  // namespace detail

[[gnu::always_inline]] inline batch<float> exp(const batch<float>& x) noexcept {
  return detail::exp_float(x);
}
[[gnu::always_inline]] inline batch<double> exp(const batch<double>& x) noexcept {
  return xsimd::exp(x);
}

[[gnu::always_inline]] inline batch<float> tanh(const batch<float>& x) noexcept {
  return detail::tanh_float<1>(x);
}
[[gnu::always_inline]] inline batch<double> tanh(const batch<double>& x) noexcept {
  return xsimd::tanh(x);
}

/// 1 / (1 + exp(-x)) = (1 + tanh(x / 2)) / 2: for float through the rational tanh, so the
/// error is absolute (1.5e-7): sigmoid(-inf) = 1.2e-7, not 0.
[[gnu::always_inline]] inline batch<float> sigmoid(const batch<float>& x) noexcept {
  return simd::fma(batch<float>(0.5f), detail::tanh_float<2>(x), batch<float>(0.5f));
}
[[gnu::always_inline]] inline batch<double> sigmoid(const batch<double>& x) noexcept {
  return batch<double>(1.0) / (batch<double>(1.0) + exp(-x));
}

/// exp(x) - 1 without the cancellation near 0 (xsimd's expm1, ~1 ulp): ELU's negative side.
template <class T>
[[gnu::always_inline]] inline batch<T> expm1(const batch<T>& x) noexcept {
  return xsimd::expm1(x);
}

/// x for x > 0, exp(x) - 1 otherwise (torch.nn.ELU, alpha = 1); NaN stays NaN.
template <class T>
[[gnu::always_inline]] inline batch<T> elu(const batch<T>& x) noexcept {
  // expm1 of x itself (inf in the lanes x > 0 discards): clamping to min(x, 0) would turn
  // NaN into 0 on x86, whose min returns its second operand for NaN.
  return xsimd::select(x > batch<T>(T(0)), x, expm1(x));
}

/// max(x, 0) that keeps NaN (a hardware max would return 0 for a NaN lane).
template <class T>
[[gnu::always_inline]] inline batch<T> relu(const batch<T>& x) noexcept {
  return xsimd::select(x < batch<T>(T(0)), batch<T>(T(0)), x);
}

}  // namespace RNNX_NAMESPACE::simd
