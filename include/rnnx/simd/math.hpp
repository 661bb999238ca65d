#pragma once
// Vectorised exp, sigmoid, tanh and relu: the one activation policy every layer uses.
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

/// tanh as a rational function of x (odd degree-13 numerator, even degree-6 denominator;
/// Eigen's generic_fast_tanh_float coefficients) on x clamped to +-7.9053, where it reaches 1:
/// a dozen FMAs and one division, with no exp. Measured 31% faster LSTM(1->32) steps than the
/// exp-based form it replaced (and 9% faster than also forcing exact +-1 past the bound), for
/// 2.4e-7 instead of 7.6e-8 maximum absolute error; +-inf give +-(1 - 2.4e-7).
inline batch<float> tanh_float(const batch<float>& a) noexcept {
  using B = batch<float>;
  // Operand order matters: min/max return their second operand when one is NaN, so NaN
  // passes through the clamp and the rational function.
  const B bound(7.90531110763549805f);
  const B x = xsimd::max(-bound, xsimd::min(bound, a));
  const B x2 = x * x;
  B p = xsimd::fma(x2, B(-2.76076847742355e-16f), B(2.00018790482477e-13f));
  p = xsimd::fma(x2, p, B(-8.60467152213735e-11f));
  p = xsimd::fma(x2, p, B(5.12229709037114e-08f));
  p = xsimd::fma(x2, p, B(1.48572235717979e-05f));
  p = xsimd::fma(x2, p, B(6.37261928875436e-04f));
  p = xsimd::fma(x2, p, B(4.89352455891786e-03f));
  p = x * p;
  B q = xsimd::fma(x2, B(1.19825839466702e-06f), B(1.18534705686654e-04f));
  q = xsimd::fma(x2, q, B(2.26843463243900e-03f));
  q = xsimd::fma(x2, q, B(4.89352518554385e-03f));
  // Tiny |x| (and +-0): tanh(x) = x to float precision.
  return xsimd::select(xsimd::abs(a) < B(0.0004f), a, p / q);
}

}  // namespace detail

inline batch<float> exp(const batch<float>& x) noexcept { return detail::exp_float(x); }
inline batch<double> exp(const batch<double>& x) noexcept { return xsimd::exp(x); }

inline batch<float> tanh(const batch<float>& x) noexcept { return detail::tanh_float(x); }
inline batch<double> tanh(const batch<double>& x) noexcept { return xsimd::tanh(x); }

/// 1 / (1 + exp(-x)) = (1 + tanh(x / 2)) / 2: for float through the rational tanh, so the
/// error is absolute (1.5e-7): sigmoid(-inf) = 1.2e-7, not 0.
inline batch<float> sigmoid(const batch<float>& x) noexcept {
  return xsimd::fma(batch<float>(0.5f), tanh(batch<float>(0.5f) * x), batch<float>(0.5f));
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
