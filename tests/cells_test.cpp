// Every cell declared through expr/ (rnnx::cell), one typed test over the list: the fused
// step against a plain-loop double reference interpreted from the same declaration
// (expr/reference.hpp), backprop through time against finite differences in double for every
// parameter, step == forward == N streams bit for bit, and the paths every built-in cell has
// (weight files, bf16 copies, sample-rate correction, summary). PyTorch parity of the cells that
// PyTorch has lives in the fixture tests (fixtures_*_test, bptt_fixtures_test).

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <rnnx/expr/reference.hpp>
#include <rnnx/rnnx.hpp>
#include <span>
#include <vector>

#include "cell_kinds.hpp"
#include "gradcheck.hpp"
#include "random_parameters.hpp"

namespace {

using rnnx_test::all_cells;

template <class K>
class Cells : public ::testing::Test {};
TYPED_TEST_SUITE(Cells, all_cells);

template <class T>
std::vector<T> random_inputs(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> x(n);
  for (auto& v : x) v = static_cast<T>(dist(gen));
  return x;
}

/// The layer's steps against reference_step: max |difference| of h over `steps` steps.
/// Weights in [-scale, scale]: 0.25 keeps a float run of 200 steps contractive (larger weights
/// make an Elman RNN chaotic, and float rounding then grows without bound).
template <class Layer>
double max_difference_from_reference(std::size_t steps, unsigned seed, double scale) {
  using T = typename Layer::scalar;
  using Net = rnnx::basic_network<T, Layer>;
  auto model = rnnx_test::uniform_model<Net>(seed, -scale, scale);
  const auto xs = random_inputs<T>(steps * Layer::in_size, seed + 1);
  auto s = model->initial_state();
  rnnx::expr::reference_state ref;
  double worst = 0;
  for (std::size_t t = 0; t < steps; ++t) {
    const std::span<const T, Layer::in_size> x(xs.data() + t * Layer::in_size, Layer::in_size);
    const auto y = model->step(x, s);
    const std::vector<double> xd(x.begin(), x.end());
    rnnx::expr::reference_step(model->template layer<0>(), xd, ref);
    for (std::size_t u = 0; u < Layer::out_size; ++u)
      worst = std::max(worst, std::abs(double(y[u]) - ref.h[u]));
  }
  return worst;
}

TYPED_TEST(Cells, DoubleStepsMatchThePlainLoopReference) {
  using layer = typename TypeParam::template type<3, 19, double>;
  EXPECT_LT(max_difference_from_reference<layer>(60, 1, 0.6), 1e-12) << rnnx::layer_name<layer>();
}

TYPED_TEST(Cells, FloatStepsMatchThePlainLoopReference) {
  using layer = typename TypeParam::template type<3, 37, float>;
  // The float activations' error bounds (simd/math.hpp), carried through 200 steps.
  EXPECT_LT(max_difference_from_reference<layer>(200, 2, 0.25), 2e-5) << rnnx::layer_name<layer>();
}

TYPED_TEST(Cells, GradientsMatchFiniteDifferences) {
  using cell = typename TypeParam::template type<3, 5, double>;
  using next = typename TypeParam::template type<5, 4, double>;
  // Two layers of the cell: the second passes dL/dx back into the first.
  rnnx_test::check_gradients<rnnx::basic_network<double, cell, next, rnnx::dense<4, 2>>>(3, 5, 7);
}

/// step == forward, and N streams at once == N single steps, bit for bit; with bf16 weight
/// copies too (N streams == N single bf16 steps).
template <class Layer, std::size_t N>
void expect_steps_forward_and_streams_agree() {
  constexpr std::size_t H = Layer::out_size;
  using Net = rnnx::network<Layer, rnnx::dense<H, 1>>;
  constexpr std::size_t T = 50;
  auto model = rnnx_test::uniform_model<Net>(3, -0.6, 0.6);
  const auto xs = random_inputs<float>(N * T * 2, 4);
  for (std::size_t k = 0; k < 2; ++k) {
    xt::xtensor<float, 2> seq = xt::xtensor<float, 2>::from_shape({T, 2});
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t j = 0; j < 2; ++j) seq(t, j) = xs[(t * N + k) * 2 + j];
    const auto whole = model->forward(seq);
    auto s = model->initial_state();
    for (std::size_t t = 0; t < T; ++t) {
      const float y = model->step(std::span<const float, 2>(&seq(t, 0), 2), s)[0];
      ASSERT_EQ(std::memcmp(&y, &whole(t, 0), sizeof y), 0) << "step " << t;
    }
  }
  const auto fast = std::make_unique<rnnx::bf16_weights<Net>>(*model);
  std::array<typename Net::state, N> states{}, alone{}, states_bf16{}, alone_bf16{};
  for (std::size_t t = 0; t < T; ++t) {
    std::array<float, N> y{}, y_bf16{};
    const std::span<const float, N * 2> x(xs.data() + t * N * 2, N * 2);
    model->step(x, states, std::span<float, N>(y));
    fast->step(x, states_bf16, std::span<float, N>(y_bf16));
    for (std::size_t k = 0; k < N; ++k) {
      const std::span<const float, 2> xk(xs.data() + (t * N + k) * 2, 2);
      const float single = model->step(xk, alone[k])[0];
      ASSERT_EQ(std::memcmp(&single, &y[k], sizeof single), 0) << "stream " << k << " step " << t;
      const float single_bf16 = fast->step(xk, alone_bf16[k])[0];
      ASSERT_EQ(std::memcmp(&single_bf16, &y_bf16[k], sizeof single), 0)
          << "bf16 stream " << k << " step " << t;
    }
  }
}

TYPED_TEST(Cells, StepForwardAndStreamsAgreeBitForBit) {
  using small = typename TypeParam::template type<2, 21, float>;
  expect_steps_forward_and_streams_agree<small, 3>();
  // W_hh beyond 32 KB: groups of streams share each weight load (recurrent_weights), stage by
  // stage. (One-stage cells share the path of the built-in ones, which streams_test covers;
  // instantiating it for every cell would add a minute to the test build.)
  if constexpr (small::graph_type::two_stage)
    expect_steps_forward_and_streams_agree<typename TypeParam::template type<2, 96, float>, 9>();
}

// What every built-in cell has, through the layer concept alone: a weight file round trip,
// bf16 weight copies, sample-rate correction and summary.
TYPED_TEST(Cells, SaveLoadBf16AndRateCorrectionWork) {
  using layer = typename TypeParam::template type<2, 21, float>;
  using Net = rnnx::network<layer, rnnx::dense<21, 2>>;
  auto model = rnnx_test::uniform_model<Net>(5, -0.4, 0.4);
  const auto path = std::filesystem::path(::testing::TempDir()) /
                    ("cells_test_" + std::string(layer::type_name) + ".json");
  rnnx::save_weights(*model, path);
  auto loaded = std::make_unique<Net>();
  rnnx::load_weights(*loaded, path);
  std::filesystem::remove(path);
  EXPECT_TRUE(*loaded == *model);
  EXPECT_NE(rnnx::summary<Net>().find(rnnx::layer_name<layer>()), std::string::npos);

  const auto fast = std::make_unique<rnnx::bf16_weights<Net>>(*model);
  auto s = model->initial_state();
  auto sb = fast->initial_state();
  const auto xs = random_inputs<float>(200, 6);
  double worst = 0;
  for (std::size_t t = 0; t < 100; ++t) {
    const std::span<const float, 2> x(xs.data() + 2 * t, 2);
    const auto y = model->step(x, s);
    const auto yb = fast->step(x, sb);
    for (std::size_t j = 0; j < 2; ++j) worst = std::max(worst, double(std::abs(y[j] - yb[j])));
  }
  EXPECT_LT(worst, 2e-2) << "bf16 weights";
  // A cell without W_hh keeps its W_ih in float, as layers without recurrent matrices do.
  if (rnnx::detail::has_recurrent_matrices<layer>) {
    EXPECT_GT(worst, 0.0) << "the bf16 copies were not used";
  }

  // Ratio 1 is the plain step, bit for bit.
  rnnx::rate_corrected<Net, 4> corrected(*model);
  corrected.prepare(1.0);
  auto plain = model->initial_state();
  for (std::size_t t = 0; t < 100; ++t) {
    const std::span<const float, 2> x(xs.data() + 2 * t, 2);
    const float a = corrected.step(x)[0];
    const float b = model->step(x, plain)[0];
    ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0) << "step " << t;
  }
}

TYPED_TEST(Cells, ParametersAreNamedAsThePyTorchOnes) {
  using layer = typename TypeParam::template type<3, 5, float>;
  std::vector<std::string> names;
  layer l;
  l.visit_parameters([&](std::string_view name, auto&) { names.emplace_back(name); });
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(names[0], "weight_ih");
  EXPECT_EQ(names[1], layer::recurrent_weights_type::has_hidden ? "weight_hh" : "bias_ih");
}

}  // namespace
