// rnnx::attention: forward against plain loops of the three score definitions, masking, and
// backward (queries, memory, parameters) against central differences in double.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <rnnx/seq2seq/attention.hpp>
#include <string>
#include <vector>

namespace {

using namespace rnnx;

template <class Attention>
struct problem {
  using T = typename Attention::scalar;
  static constexpr std::size_t Q = Attention::query_size, M = Attention::memory_size;
  static constexpr std::size_t Qs = simd::padded<T>(Q), Ms = simd::padded<T>(M);
  std::size_t batch, queries, steps;
  std::vector<std::size_t> lengths;
  simd::aligned_vector<T> q, m, w;  // queries (t, b), memory (s, b), loss weights on contexts
  Attention attention;

  problem(std::size_t b, std::size_t t, std::size_t s, std::vector<std::size_t> len, unsigned seed)
      : batch(b),
        queries(t),
        steps(s),
        lengths(std::move(len)),
        q(t * b * Qs, T(0)),
        m(s * b * Ms, T(0)),
        w(t * b * Ms, T(0)) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> dist(-1, 1);
    for (std::size_t r = 0; r < t * b; ++r)
      for (std::size_t j = 0; j < Q; ++j) q[r * Qs + j] = T(dist(gen));
    for (std::size_t r = 0; r < s * b; ++r)
      for (std::size_t j = 0; j < M; ++j) m[r * Ms + j] = T(dist(gen));
    for (std::size_t r = 0; r < t * b; ++r)
      for (std::size_t j = 0; j < M; ++j) w[r * Ms + j] = T(dist(gen));
    attention.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) p.at(r, c) = T(dist(gen));
    });
  }

  simd::aligned_vector<T> contexts(typename Attention::tape& tp) const {
    simd::aligned_vector<T> c(queries * batch * Ms, T(0));
    attention.forward_train(q.data(), batch, queries, m.data(), steps, lengths, tp, c.data());
    return c;
  }
  double loss() const {
    typename Attention::tape tp;
    const auto c = contexts(tp);
    double sum = 0;
    for (std::size_t i = 0; i < c.size(); ++i) sum += double(c[i]) * double(w[i]);
    return sum;
  }
};

/// The definition, in plain loops over logical indices, for one query.
template <class Attention>
std::vector<double> reference_context(const problem<Attention>& p, std::size_t t, std::size_t b,
                                      std::vector<double>& weights) {
  using P = problem<Attention>;
  std::vector<std::vector<double>> params;
  const_cast<Attention&>(p.attention).visit_parameters([&](std::string_view, auto& x) {
    std::vector<double> flat;
    for (std::size_t r = 0; r < x.rows; ++r)
      for (std::size_t c = 0; c < (x.rank == 1 ? 1 : x.cols); ++c) flat.push_back(x.at(r, c));
    params.push_back(flat);
  });
  const auto* q = p.q.data() + (t * p.batch + b) * P::Qs;
  const std::size_t length = p.lengths[b];
  std::vector<double> e(length);
  for (std::size_t s = 0; s < length; ++s) {
    const auto* m = p.m.data() + (s * p.batch + b) * P::Ms;
    double score = 0;
    using Score = typename Attention::score_type;
    if constexpr (std::is_same_v<Score, dot_score>) {
      for (std::size_t j = 0; j < P::Q; ++j) score += q[j] * m[j];
    } else if constexpr (std::is_same_v<Score, general_score>) {
      for (std::size_t i = 0; i < P::Q; ++i)
        for (std::size_t j = 0; j < P::M; ++j) score += q[i] * params[0][i * P::M + j] * m[j];
    } else {
      const std::size_t A = Score::size;
      for (std::size_t a = 0; a < A; ++a) {
        double z = params[2][a];
        for (std::size_t i = 0; i < P::Q; ++i) z += params[0][a * P::Q + i] * q[i];
        for (std::size_t j = 0; j < P::M; ++j) z += params[1][a * P::M + j] * m[j];
        score += params[3][a] * std::tanh(z);
      }
    }
    e[s] = score;
  }
  double top = e[0], sum = 0;
  for (double x : e) top = std::max(top, x);
  for (double& x : e) sum += x = std::exp(x - top);
  weights.assign(p.steps, 0.0);
  std::vector<double> c(P::M, 0.0);
  for (std::size_t s = 0; s < length; ++s) {
    weights[s] = e[s] / sum;
    for (std::size_t j = 0; j < P::M; ++j) c[j] += weights[s] * p.m[(s * p.batch + b) * P::Ms + j];
  }
  return c;
}

template <class Attention>
void check_forward(double tolerance) {
  problem<Attention> p(3, 4, 6, {6, 2, 5}, 7);
  typename Attention::tape tp;
  const auto c = p.contexts(tp);
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t b = 0; b < 3; ++b) {
      std::vector<double> weights;
      const auto expected = reference_context(p, t, b, weights);
      const auto got = Attention::weights_of(tp, t, b);
      double total = 0;
      for (std::size_t s = 0; s < 6; ++s) {
        EXPECT_NEAR(got[s], weights[s], tolerance)
            << "weight " << s << " of query " << t << ", " << b;
        if (s >= p.lengths[b]) {
          EXPECT_EQ(got[s], 0) << "masked position " << s;
        }
        total += got[s];
      }
      EXPECT_NEAR(total, 1.0, tolerance);
      for (std::size_t j = 0; j < problem<Attention>::M; ++j)
        EXPECT_NEAR(c[(t * 3 + b) * problem<Attention>::Ms + j], expected[j], tolerance);
    }
}

TEST(Attention, MatchesTheDefinitions) {
  check_forward<attention<5, 5, dot_score>>(1e-6);
  check_forward<attention<4, 7, general_score>>(1e-6);
  check_forward<attention<3, 6, additive_score<5>>>(1e-6);
  check_forward<attention<17, 17, dot_score, double>>(1e-13);
  check_forward<attention<6, 9, additive_score<11>, double>>(1e-13);
}

template <class Attention>
void check_gradients(unsigned seed) {
  using P = problem<Attention>;
  P p(5, 3, 4, {4, 1, 3, 4, 2}, seed);
  typename Attention::tape tp;
  p.contexts(tp);
  Attention grad{};
  simd::aligned_vector<double> dq(p.q.size(), 0.0), dm(p.m.size(), 0.0);
  p.attention.backward(p.q.data(), p.m.data(), p.w.data(), tp, grad, dq.data(), dm.data());

  constexpr double h = 1e-6, tol = 1e-7;
  auto check = [&](double& x, double analytic, const std::string& what) {
    const double saved = x;
    x = saved + h;
    const double up = p.loss();
    x = saved - h;
    const double down = p.loss();
    x = saved;
    const double numeric = (up - down) / (2 * h);
    ASSERT_NEAR(analytic, numeric, tol * std::max(1.0, std::abs(numeric))) << what;
  };
  for (std::size_t r = 0; r < 3 * 5; ++r)
    for (std::size_t j = 0; j < P::Q; ++j)
      check(p.q[r * P::Qs + j], dq[r * P::Qs + j], "query row " + std::to_string(r));
  for (std::size_t r = 0; r < 4 * 5; ++r)
    for (std::size_t j = 0; j < P::M; ++j) {
      check(p.m[r * P::Ms + j], dm[r * P::Ms + j], "memory row " + std::to_string(r));
      if (r / 5 >= p.lengths[r % 5]) {
        EXPECT_EQ(dm[r * P::Ms + j], 0.0) << "masked row " << r;
      }
    }
  std::vector<double*> params;
  std::vector<double> analytic;
  p.attention.visit_parameters([&](std::string_view, auto& x) {
    for (std::size_t r = 0; r < x.rows; ++r)
      for (std::size_t c = 0; c < (x.rank == 1 ? 1 : x.cols); ++c) params.push_back(&x.at(r, c));
  });
  grad.visit_parameters([&](std::string_view, auto& x) {
    for (std::size_t r = 0; r < x.rows; ++r)
      for (std::size_t c = 0; c < (x.rank == 1 ? 1 : x.cols); ++c) analytic.push_back(x.at(r, c));
  });
  for (std::size_t k = 0; k < params.size(); ++k)
    check(*params[k], analytic[k], "parameter value " + std::to_string(k));
}

TEST(Attention, GradientsMatchFiniteDifferences) {
  check_gradients<attention<5, 5, dot_score, double>>(11);
  check_gradients<attention<4, 7, general_score, double>>(12);
  check_gradients<attention<3, 6, additive_score<5>, double>>(13);
}

TEST(Attention, NamesItsParameters) {
  std::vector<std::string> names;
  attention<3, 6, additive_score<5>> a;
  a.visit_parameters([&](std::string_view n, auto&) { names.emplace_back(n); });
  EXPECT_EQ(names,
            (std::vector<std::string>{"query_weight", "memory_weight", "bias", "score_weight"}));
  names.clear();
  attention<4, 7, general_score> g;
  g.visit_parameters([&](std::string_view n, auto&) { names.emplace_back(n); });
  EXPECT_EQ(names, (std::vector<std::string>{"weight"}));
}

}  // namespace
