// Each cell against a plain-loop reference of the PyTorch equations, at sizes that exercise
// every blocking and padding path of the kernels (1, odd, one register, several blocks),
// through the packed-layout parameter views.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <rnnx/rnnx.hpp>
#include <string>
#include <vector>

namespace {

using matrix = std::vector<std::vector<double>>;

/// Fills every parameter with uniform(-scale, scale) values and returns a logical copy.
template <class L>
std::map<std::string, matrix> randomize(L& layer, unsigned seed, double scale) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  std::map<std::string, matrix> copy;
  layer.visit_parameters([&](std::string_view name, auto& p) {
    matrix m(p.rows, std::vector<double>(p.rank == 1 ? 1 : p.cols));
    for (std::size_t r = 0; r < p.rows; ++r)
      for (std::size_t c = 0; c < m[r].size(); ++c) {
        p.at(r, c) = static_cast<typename L::scalar>(dist(gen));
        m[r][c] = p.at(r, c);
      }
    copy[std::string(name)] = m;
  });
  return copy;
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

/// W x for a logical matrix, plus a logical bias.
std::vector<double> affine(const matrix& w, const std::vector<double>& x, const matrix& b) {
  std::vector<double> y(w.size());
  for (std::size_t r = 0; r < w.size(); ++r) {
    y[r] = b[r][0];
    for (std::size_t c = 0; c < x.size(); ++c) y[r] += w[r][c] * x[c];
  }
  return y;
}

struct reference_state {
  std::vector<double> h, c;
};

void lstm_reference(std::map<std::string, matrix>& p, const std::vector<double>& x,
                    reference_state& s) {
  const std::size_t H = s.h.size();
  const auto gx = affine(p["weight_ih"], x, p["bias_ih"]);
  const auto gh = affine(p["weight_hh"], s.h, p["bias_hh"]);
  for (std::size_t u = 0; u < H; ++u) {
    const double i = sigmoid(gx[u] + gh[u]), f = sigmoid(gx[H + u] + gh[H + u]);
    const double g = std::tanh(gx[2 * H + u] + gh[2 * H + u]);
    const double o = sigmoid(gx[3 * H + u] + gh[3 * H + u]);
    s.c[u] = f * s.c[u] + i * g;
    s.h[u] = o * std::tanh(s.c[u]);
  }
}

/// Gers & Schmidhuber's peepholes: i, f see c_{t-1}, o sees c_t.
void peephole_lstm_reference(std::map<std::string, matrix>& p, const std::vector<double>& x,
                             reference_state& s) {
  const std::size_t H = s.h.size();
  const auto gx = affine(p["weight_ih"], x, p["bias_ih"]);
  const auto gh = affine(p["weight_hh"], s.h, p["bias_hh"]);
  for (std::size_t u = 0; u < H; ++u) {
    const double i = sigmoid(gx[u] + gh[u] + p["weight_ci"][u][0] * s.c[u]);
    const double f = sigmoid(gx[H + u] + gh[H + u] + p["weight_cf"][u][0] * s.c[u]);
    const double g = std::tanh(gx[2 * H + u] + gh[2 * H + u]);
    s.c[u] = f * s.c[u] + i * g;
    const double o = sigmoid(gx[3 * H + u] + gh[3 * H + u] + p["weight_co"][u][0] * s.c[u]);
    s.h[u] = o * std::tanh(s.c[u]);
  }
}

void gru_reference(std::map<std::string, matrix>& p, const std::vector<double>& x,
                   reference_state& s) {
  const std::size_t H = s.h.size();
  const auto gx = affine(p["weight_ih"], x, p["bias_ih"]);
  const auto gh = affine(p["weight_hh"], s.h, p["bias_hh"]);
  for (std::size_t u = 0; u < H; ++u) {
    const double r = sigmoid(gx[u] + gh[u]), z = sigmoid(gx[H + u] + gh[H + u]);
    const double n = std::tanh(gx[2 * H + u] + r * gh[2 * H + u]);
    s.h[u] = (1 - z) * n + z * s.h[u];
  }
}

/// Cho et al.'s GRU: the reset gate scales h before W_hn.
void gru_reset_before_reference(std::map<std::string, matrix>& p, const std::vector<double>& x,
                                reference_state& s) {
  const std::size_t H = s.h.size();
  const auto gx = affine(p["weight_ih"], x, p["bias_ih"]);
  const auto gh = affine(p["weight_hh"], s.h, p["bias_hh"]);  // r and z rows used
  std::vector<double> r(H), z(H), rh(H);
  for (std::size_t u = 0; u < H; ++u) {
    r[u] = sigmoid(gx[u] + gh[u]);
    z[u] = sigmoid(gx[H + u] + gh[H + u]);
    rh[u] = r[u] * s.h[u];
  }
  for (std::size_t u = 0; u < H; ++u) {
    double a = gx[2 * H + u] + p["bias_hh"][2 * H + u][0];
    for (std::size_t j = 0; j < H; ++j) a += p["weight_hh"][2 * H + u][j] * rh[j];
    const double n = std::tanh(a);
    s.h[u] = (1 - z[u]) * n + z[u] * s.h[u];
  }
}

template <bool Relu>
void rnn_reference(std::map<std::string, matrix>& p, const std::vector<double>& x,
                   reference_state& s) {
  const auto gx = affine(p["weight_ih"], x, p["bias_ih"]);
  const auto gh = affine(p["weight_hh"], s.h, p["bias_hh"]);
  for (std::size_t u = 0; u < s.h.size(); ++u) {
    const double a = gx[u] + gh[u];
    s.h[u] = Relu ? std::max(a, 0.0) : std::tanh(a);
  }
}

template <class L, class Reference>
void check_cell(Reference reference, double tolerance) {
  using T = typename L::scalar;
  auto layer = std::make_unique<L>();
  auto params = randomize(*layer, 42 + L::out_size, 1.0 / std::sqrt(double(L::out_size)) * 2);
  typename L::state state{};
  reference_state ref{std::vector<double>(L::out_size), std::vector<double>(L::out_size)};
  std::mt19937 gen(7);
  std::normal_distribution<double> noise;
  alignas(64) T x[rnnx::simd::padded<T>(L::in_size)] = {};
  alignas(64) T y[rnnx::simd::padded<T>(L::out_size)];
  double worst = 0;
  for (int t = 0; t < 50; ++t) {
    std::vector<double> xd(L::in_size);
    for (std::size_t j = 0; j < L::in_size; ++j) x[j] = static_cast<T>(xd[j] = noise(gen));
    layer->step(x, state, y);
    reference(params, xd, ref);
    for (std::size_t u = 0; u < L::out_size; ++u)
      worst =
          std::max(worst, std::abs(double(y[u]) - ref.h[u]) / std::max(1.0, std::abs(ref.h[u])));
    for (std::size_t u = L::out_size; u < rnnx::simd::padded<T>(L::out_size); ++u)
      ASSERT_EQ(y[u], T(0)) << "padding lane " << u << " must stay zero";
  }
  EXPECT_LE(worst, tolerance) << rnnx::layer_name<L>() << " (error relative to max(1, |h|))";
}

TEST(CellReference, Lstm) {
  check_cell<rnnx::lstm<3, 1>>(lstm_reference, 1e-6);
  check_cell<rnnx::lstm<5, 33>>(lstm_reference, 1e-6);
  check_cell<rnnx::lstm<1, 48>>(lstm_reference, 1e-6);
  check_cell<rnnx::lstm<2, 130>>(lstm_reference, 2e-6);
  check_cell<rnnx::lstm<9, 40, double>>(lstm_reference, 1e-13);
}

TEST(CellReference, PeepholeLstm) {
  check_cell<rnnx::peephole_lstm<3, 1>>(peephole_lstm_reference, 1e-6);
  check_cell<rnnx::peephole_lstm<5, 33>>(peephole_lstm_reference, 1e-6);
  check_cell<rnnx::peephole_lstm<2, 130>>(peephole_lstm_reference, 2e-6);
  check_cell<rnnx::peephole_lstm<4, 21, double>>(peephole_lstm_reference, 1e-13);
}

TEST(CellReference, Gru) {
  check_cell<rnnx::gru<1, 1>>(gru_reference, 1e-6);
  check_cell<rnnx::gru<2, 17>>(gru_reference, 1e-6);
  check_cell<rnnx::gru<7, 64>>(gru_reference, 1e-6);
  check_cell<rnnx::gru<4, 80>>(gru_reference, 2e-6);
  check_cell<rnnx::gru<3, 5, double>>(gru_reference, 1e-13);
}

TEST(CellReference, GruResetBefore) {
  check_cell<rnnx::gru_reset_before<1, 1>>(gru_reset_before_reference, 1e-6);
  check_cell<rnnx::gru_reset_before<2, 17>>(gru_reset_before_reference, 1e-6);
  check_cell<rnnx::gru_reset_before<7, 64>>(gru_reset_before_reference, 1e-6);
  check_cell<rnnx::gru_reset_before<4, 144>>(gru_reset_before_reference, 2e-6);
  check_cell<rnnx::gru_reset_before<3, 21, double>>(gru_reset_before_reference, 1e-13);
}

TEST(CellReference, Rnn) {
  check_cell<rnnx::rnn<1, 48, rnnx::relu>>(rnn_reference<true>, 1e-5);
  check_cell<rnnx::rnn<6, 7>>(rnn_reference<false>, 1e-6);
  check_cell<rnnx::rnn<3, 256>>(rnn_reference<false>, 5e-6);  // 259-term float sums
  check_cell<rnnx::rnn<2, 19, rnnx::relu, double>>(rnn_reference<true>, 1e-12);
}

TEST(CellReference, DenseBothLayoutsAndEveryActivation) {
  auto run = []<class L>(std::type_identity<L>, auto act) {
    auto layer = std::make_unique<L>();
    auto p = randomize(*layer, 3, 0.7);
    alignas(64) float x[rnnx::simd::padded<float>(L::in_size)] = {};
    alignas(64) float y[rnnx::simd::padded<float>(L::out_size)];
    std::vector<double> xd(L::in_size);
    for (std::size_t j = 0; j < L::in_size; ++j) x[j] = float(xd[j] = std::sin(1.3 * j + 0.2));
    rnnx::no_state s;
    layer->step(x, s, y);
    auto ref = affine(p["weight"], xd, p["bias"]);
    act(ref);
    for (std::size_t r = 0; r < L::out_size; ++r)
      EXPECT_NEAR(y[r], ref[r], (1e-6 + 4e-8 * L::in_size) * std::max(1.0, std::abs(ref[r])))
          << rnnx::layer_name<L>() << " row " << r;
    for (std::size_t r = L::out_size; r < rnnx::simd::padded<float>(L::out_size); ++r)
      EXPECT_EQ(y[r], 0.0f) << rnnx::layer_name<L>() << " padding lane " << r;
  };
  auto none = [](std::vector<double>&) {};
  auto sig = [](std::vector<double>& v) {
    for (auto& a : v) a = sigmoid(a);
  };
  auto th = [](std::vector<double>& v) {
    for (auto& a : v) a = std::tanh(a);
  };
  auto re = [](std::vector<double>& v) {
    for (auto& a : v) a = std::max(a, 0.0);
  };
  auto sm = [](std::vector<double>& v) {
    double m = *std::max_element(v.begin(), v.end()), sum = 0;
    for (auto& a : v) sum += (a = std::exp(a - m));
    for (auto& a : v) a /= sum;
  };
  run(std::type_identity<rnnx::dense<32, 1>>{}, none);
  run(std::type_identity<rnnx::dense<7, 3, rnnx::sigmoid>>{}, sig);
  run(std::type_identity<rnnx::dense<33, 17, rnnx::tanh>>{}, th);
  run(std::type_identity<rnnx::dense<128, 300, rnnx::relu>>{}, re);
  run(std::type_identity<rnnx::dense<12, 5, rnnx::softmax>>{}, sm);
  run(std::type_identity<rnnx::dense<5, 21, rnnx::softmax>>{}, sm);
  run(std::type_identity<rnnx::dense<1, 9, rnnx::sigmoid>>{}, sig);
}

}  // namespace
