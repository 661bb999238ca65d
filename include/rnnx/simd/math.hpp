#pragma once
// Vectorised exp, sigmoid, tanh and relu: the one activation policy every layer uses.
//
// float: branch-free Cephes-style kernels (no lane pays for another lane's slow path).
// Maximum errors over every 211th float bit pattern of both signs (tests/simd_math_test.cpp
// asserts the bounds; measured with AVX-512 FMA in parentheses):
//   exp      relative error <= 2e-7   (1.19e-7) where the result is a normal float
//   sigmoid  absolute error <= 1.5e-7 (8.9e-8)
//   tanh     absolute error <= 1.5e-7 (7.6e-8), relative <= 1.2e-7 for |x| < 0.625
// double: xsimd's accurate exp/tanh (about 1 ulp), since double users ask for accuracy.
// All functions propagate NaN; exp(+inf) = inf, exp(-inf) = 0, sigmoid(+-inf) = 1/0,
// tanh(+-inf) = +-1.

#include <cstdint>
#include <limits>

#include "rnnx/simd/batch.hpp"

namespace rnnx::simd {

namespace detail {

inline batch<float> exp_float(const batch<float>& x) noexcept {
  using B = batch<float>;
  using I = batch<std::int32_t>;
  const B max_arg(88.72283935546875f);    // above: exp overflows
  const B min_arg(-103.97208404541016f);  // below: exp rounds to zero, even as a denormal
  const B xc = xsimd::min(xsimd::max(x, min_arg), max_arg);

  // exp(x) = 2^n exp(r), |r| <= ln(2)/2; ln 2 split in two so that n * ln2_hi is exact.
  const B n = xsimd::nearbyint(xc * B(1.44269504088896341f));
  B r = xsimd::fnma(n, B(0.693359375f), xc);
  r = xsimd::fnma(n, B(-2.12194440e-4f), r);

  B p(1.9875691500e-4f);
  p = xsimd::fma(p, r, B(1.3981999507e-3f));
  p = xsimd::fma(p, r, B(8.3334519073e-3f));
  p = xsimd::fma(p, r, B(4.1665795894e-2f));
  p = xsimd::fma(p, r, B(1.6666665459e-1f));
  p = xsimd::fma(p, r, B(5.0000001201e-1f));
  B y = xsimd::fma(p, r * r, r + B(1.0f));

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

/// 1 / d to within 2 ulp for finite d >= 1: the hardware estimate refined by one Newton step,
/// several times shorter in latency than a division.
inline batch<float> reciprocal(const batch<float>& d) noexcept {
  batch<float> r = xsimd::reciprocal(d);
  // AVX-512's estimate has 14 bits, so one step reaches float precision; SSE/AVX's 12 need two.
  constexpr int steps = width<float> >= 16 ? 1 : 2;
  // r + r (1 - d r) rather than r (2 - d r): the correction is formed exactly, so the
  // result converges to the correctly rounded value even without FMA.
  for (int i = 0; i < steps; ++i) r = xsimd::fma(r, xsimd::fnma(d, r, batch<float>(1.0f)), r);
  return r;
}

inline batch<float> tanh_float(const batch<float>& x) noexcept {
  using B = batch<float>;
  const B ax = xsimd::abs(x);
  // Small |x|: odd minimax polynomial keeps the relative accuracy near zero (and -0).
  const B z = x * x;
  B p(-5.70498872745e-3f);
  p = xsimd::fma(p, z, B(2.06390887954e-2f));
  p = xsimd::fma(p, z, B(-5.37397155531e-2f));
  p = xsimd::fma(p, z, B(1.33314422036e-1f));
  p = xsimd::fma(p, z, B(-3.33332819422e-1f));
  const B small = xsimd::fma(p * z, x, x);
  // Large |x|: 1 - 2 / (exp(2|x|) + 1); past |x| = 44 this is 1 exactly in float, so the
  // argument is capped where exp is still finite (min keeps a NaN second operand).
  const B large_abs =
      B(1.0f) - B(2.0f) * reciprocal(exp_float(xsimd::min(B(88.0f), ax + ax)) + B(1.0f));
  const B large = xsimd::select(x < B(0.0f), -large_abs, large_abs);
  const B y = xsimd::select(ax < B(0.625f), small, large);
  // NaN stays NaN; +-0 stays +-0 (the polynomial would turn -0 into +0).
  return xsimd::select(xsimd::isnan(x) || ax == B(0.0f), x, y);
}

}  // namespace detail

inline batch<float> exp(const batch<float>& x) noexcept { return detail::exp_float(x); }
inline batch<double> exp(const batch<double>& x) noexcept { return xsimd::exp(x); }

inline batch<float> tanh(const batch<float>& x) noexcept { return detail::tanh_float(x); }
inline batch<double> tanh(const batch<double>& x) noexcept { return xsimd::tanh(x); }

/// 1 / (1 + exp(-x)); for float the argument of exp is capped at 88 (sigmoid(-88) = 6e-39,
/// so the result for x < -88 is that instead of a smaller denormal or 0).
inline batch<float> sigmoid(const batch<float>& x) noexcept {
  return detail::reciprocal(batch<float>(1.0f) + exp(xsimd::min(batch<float>(88.0f), -x)));
}
inline batch<double> sigmoid(const batch<double>& x) noexcept {
  return batch<double>(1.0) / (batch<double>(1.0) + exp(-x));
}

/// max(x, 0) that keeps NaN (a hardware max would return 0 for a NaN lane).
template <class T>
inline batch<T> relu(const batch<T>& x) noexcept {
  return xsimd::select(x < batch<T>(T(0)), batch<T>(T(0)), x);
}

}  // namespace rnnx::simd
