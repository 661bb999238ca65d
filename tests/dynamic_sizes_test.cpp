// Cells whose sizes are chosen at run time (rnnx::dyn, rnnx/extent.hpp): the same engine,
// schedule and kernels as the typed cells, so a cell of the same sizes and weights gives the
// same bits, in a step, a whole sequence and N streams, whichever blocking the sizes pick.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <random>
#include <rnnx/rnnx.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "cell_kinds.hpp"

namespace {

using rnnx::dyn;
using rnnx_test::all_cells;

template <class T>
using buffer = rnnx::simd::aligned_vector<T>;

template <class K>
class DynamicSizes : public ::testing::Test {};
TYPED_TEST_SUITE(DynamicSizes, all_cells);

/// Every parameter of `to` (same names and shapes as `from`'s) set to from's values.
template <class From, class To>
void copy_parameters(const From& from, To& to) {
  std::vector<std::vector<double>> values;
  from.visit_parameters([&](std::string_view, const auto& p) {
    auto& v = values.emplace_back();
    for (std::size_t r = 0; r < p.rows; ++r)
      for (std::size_t c = 0; c < std::max<std::size_t>(p.cols, 1); ++c) v.push_back(p.at(r, c));
  });
  std::size_t i = 0;
  to.visit_parameters([&](std::string_view name, auto& p) {
    ASSERT_LT(i, values.size()) << name;
    ASSERT_EQ(values[i].size(), p.count) << name;
    std::size_t k = 0;
    for (std::size_t r = 0; r < p.rows; ++r)
      for (std::size_t c = 0; c < std::max<std::size_t>(p.cols, 1); ++c)
        p.at(r, c) = static_cast<typename To::scalar>(values[i][k++]);
    ++i;
  });
  EXPECT_EQ(i, values.size());
}

/// A typed cell on the heap, every parameter uniform in [-scale, scale].
template <class Typed>
std::unique_ptr<Typed> random_cell(unsigned seed, double scale) {
  auto typed = std::make_unique<Typed>();
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  typed->visit_parameters([&](std::string_view, auto& p) {
    for (std::size_t r = 0; r < p.rows; ++r)
      for (std::size_t c = 0; c < std::max<std::size_t>(p.cols, 1); ++c)
        p.at(r, c) = typename Typed::scalar(dist(gen));
  });
  return typed;
}

template <class T>
buffer<T> random_rows(std::size_t rows, std::size_t values, std::size_t stride, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  buffer<T> x(rows * stride, T(0));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < values; ++j) x[r * stride + j] = static_cast<T>(dist(gen));
  return x;
}

template <class T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(T)) == 0;
}

/// The typed cell Typed and Dynamic (its rnnx::dyn counterpart) with the same weights agree
/// bit for bit on steps, a sequence and N streams, and in every state they leave.
template <class Typed, class Dynamic, std::size_t N>
void expect_same_bits_as_typed(unsigned seed) {
  using T = typename Typed::scalar;
  constexpr std::size_t in = Typed::in_size, hidden = Typed::out_size;
  constexpr std::size_t in_stride = rnnx::simd::padded<T>(in);
  constexpr std::size_t hs = rnnx::simd::padded<T>(hidden);
  constexpr std::size_t steps = 37;
  const auto typed = random_cell<Typed>(seed, 0.5);
  const Dynamic dynamic = [&] {
    Dynamic d(in, hidden);
    copy_parameters(*typed, d);
    return d;
  }();
  EXPECT_EQ(dynamic.shape().in_size(), in);
  EXPECT_EQ(dynamic.shape().hidden_size(), hidden);
  const auto xs = random_rows<T>(steps * N, in, in_stride, seed + 1);
  const std::string sizes = std::to_string(in) + ", " + std::to_string(hidden);

  // Steps.
  {
    typename Typed::state ts{};
    auto ds = dynamic.initial_state();
    buffer<T> ty(hs), dy(hs);
    for (std::size_t t = 0; t < steps; ++t) {
      typed->step(xs.data() + t * in_stride, ts, ty.data());
      dynamic.step(xs.data() + t * in_stride, ds, dy.data());
      ASSERT_TRUE(same_bits(ty.data(), dy.data(), hs)) << "step " << t << " of " << sizes;
    }
    EXPECT_TRUE(same_bits(ts.h.data(), ds.h.data(), hs)) << sizes;
    if constexpr (requires { ts.c; }) {
      EXPECT_TRUE(same_bits(ts.c.data(), ds.c.data(), hs));
    }
  }
  // A sequence, and a step after it.
  {
    typename Typed::state ts{};
    auto ds = dynamic.initial_state();
    buffer<T> ty(steps * hs), dy(steps * hs);
    typed->forward_sequence(xs.data(), steps, ts, ty.data());
    dynamic.forward_sequence(xs.data(), steps, ds, dy.data());
    EXPECT_TRUE(same_bits(ty.data(), dy.data(), steps * hs)) << "sequence of " << sizes;
    typed->step(xs.data(), ts, ty.data());
    dynamic.step(xs.data(), ds, dy.data());
    EXPECT_TRUE(same_bits(ty.data(), dy.data(), hs)) << "step after a sequence of " << sizes;
  }
  // N streams, against the typed streams and the dynamic single steps.
  {
    std::array<typename Typed::state, N> ts{};
    std::vector<typename Dynamic::state> ds, singles;
    for (std::size_t k = 0; k < N; ++k) {
      ds.push_back(dynamic.initial_state());
      singles.push_back(dynamic.initial_state());
    }
    buffer<T> ty(N * hs), dy(N * hs), sy(hs);
    for (std::size_t t = 0; t < 5; ++t) {
      std::array<const T*, N> x;
      std::array<typename Typed::state*, N> tsp;
      std::array<typename Dynamic::state*, N> dsp;
      std::array<T*, N> typ, dyp;
      for (std::size_t k = 0; k < N; ++k) {
        x[k] = xs.data() + (t * N + k) * in_stride;
        tsp[k] = &ts[k];
        dsp[k] = &ds[k];
        typ[k] = ty.data() + k * hs;
        dyp[k] = dy.data() + k * hs;
      }
      typed->template step_streams<N>(x, tsp, typ);
      dynamic.template step_streams<N>(x, dsp, dyp);
      ASSERT_TRUE(same_bits(ty.data(), dy.data(), N * hs))
          << "streams, step " << t << " of " << sizes;
      for (std::size_t k = 0; k < N; ++k) {
        dynamic.step(x[k], singles[k], sy.data());
        ASSERT_TRUE(same_bits(sy.data(), dy.data() + k * hs, hs))
            << "stream " << k << " against its own steps, " << sizes;
      }
    }
  }
}

/// Every parameter value of a cell, in visit order.
template <class Cell>
std::vector<typename Cell::scalar> parameter_values(const Cell& cell) {
  std::vector<typename Cell::scalar> v;
  cell.visit_parameters([&](std::string_view, const auto& p) {
    for (std::size_t r = 0; r < p.rows; ++r)
      for (std::size_t c = 0; c < std::max<std::size_t>(p.cols, 1); ++c) v.push_back(p.at(r, c));
  });
  return v;
}

/// Training's forward and backward over a batch: the same outputs, final states, parameter
/// gradients, input gradients and initial-state gradients, bit for bit.
template <class Typed, class Dynamic>
void expect_same_training_bits(std::size_t batch, std::size_t steps, unsigned seed) {
  using T = typename Typed::scalar;
  constexpr std::size_t in = Typed::in_size, hidden = Typed::out_size;
  constexpr std::size_t in_stride = rnnx::simd::padded<T>(in);
  constexpr std::size_t hs = rnnx::simd::padded<T>(hidden);
  const auto typed = random_cell<Typed>(seed, 0.6);
  Dynamic dynamic(in, hidden);
  copy_parameters(*typed, dynamic);
  const std::size_t rows = batch * steps;
  const auto xs = random_rows<T>(rows, in, in_stride, seed + 1);
  const auto dys = random_rows<T>(rows, hidden, hs, seed + 2);
  const std::string what = rnnx::layer_name<Typed>() + ", batch " + std::to_string(batch);

  std::vector<typename Typed::state> ts(batch);
  std::vector<typename Dynamic::state> ds;
  for (std::size_t b = 0; b < batch; ++b) ds.push_back(dynamic.initial_state());
  for (std::size_t b = 0; b < batch; ++b)  // a state to start from
    for (std::size_t u = 0; u < hidden; ++u) ts[b].h[u] = ds[b].h[u] = T(0.01) * T(u % 7 + b);
  typename Typed::tape ttape;
  typename Dynamic::tape dtape;
  buffer<T> ty(rows * hs), dy(rows * hs);
  typed->forward_train(xs.data(), batch, steps, ts.data(), ttape, ty.data());
  dynamic.forward_train(xs.data(), batch, steps, ds.data(), dtape, dy.data());
  ASSERT_TRUE(same_bits(ty.data(), dy.data(), rows * hs)) << "outputs of " << what;
  for (std::size_t b = 0; b < batch; ++b)
    EXPECT_TRUE(same_bits(ts[b].h.data(), ds[b].h.data(), hs)) << "final h of " << what;

  auto tgrad = std::make_unique<Typed>();
  Dynamic dgrad(in, hidden);
  buffer<T> tdx(rows * in_stride), ddx(rows * in_stride), tdy = dys, ddy = dys;
  typed->backward(xs.data(), ty.data(), tdy.data(), batch, steps, ttape, *tgrad, tdx.data());
  dynamic.backward(xs.data(), dy.data(), ddy.data(), batch, steps, dtape, dgrad, ddx.data());
  const auto tg = parameter_values(*tgrad), dg = parameter_values(dgrad);
  ASSERT_EQ(tg.size(), dg.size());
  EXPECT_TRUE(same_bits(tg.data(), dg.data(), tg.size())) << "parameter gradients of " << what;
  EXPECT_TRUE(same_bits(tdx.data(), ddx.data(), rows * in_stride)) << "dL/dx of " << what;
  std::vector<typename Typed::state> td(batch);
  std::vector<typename Dynamic::state> dd;
  for (std::size_t b = 0; b < batch; ++b) dd.push_back(dynamic.initial_state());
  typed->initial_state_gradients(ttape, td.data(), batch);
  dynamic.initial_state_gradients(dtape, dd.data(), batch);
  for (std::size_t b = 0; b < batch; ++b) {
    EXPECT_TRUE(same_bits(td[b].h.data(), dd[b].h.data(), hs)) << "dL/dh_0 of " << what;
    if constexpr (requires { td[b].c; }) {
      EXPECT_TRUE(same_bits(td[b].c.data(), dd[b].c.data(), hs)) << "dL/dc_0 of " << what;
    }
  }
}

TYPED_TEST(DynamicSizes, TrainingGivesTheTypedCellsBits) {
  using T = float;
  using dynamic = typename TypeParam::template type<dyn, dyn, T>;
  // Batches of sequence groups and single sequences; one slice and several.
  expect_same_training_bits<typename TypeParam::template type<2, 5, T>, dynamic>(5, 6, 7);
  expect_same_training_bits<typename TypeParam::template type<3, 37, T>, dynamic>(3, 9, 8);
  expect_same_training_bits<typename TypeParam::template type<3, 37, double>,
                            typename TypeParam::template type<dyn, dyn, double>>(2, 4, 9);
}

TYPED_TEST(DynamicSizes, StepsSequencesAndStreamsGiveTheTypedCellsBits) {
  using T = float;
  using dynamic = typename TypeParam::template type<dyn, dyn, T>;
  // One slice; several slices with a partial last one; beyond 32 KB of weights, where
  // groups of streams share each weight load.
  expect_same_bits_as_typed<typename TypeParam::template type<1, 5, T>, dynamic, 2>(1);
  expect_same_bits_as_typed<typename TypeParam::template type<3, 37, T>, dynamic, 3>(2);
  expect_same_bits_as_typed<typename TypeParam::template type<17, 100, T>, dynamic, 9>(3);
}

TEST(DynamicSizes, DoubleAndOneSizeFixedGiveTheTypedCellsBits) {
  expect_same_bits_as_typed<rnnx::lstm<3, 45, double>, rnnx::lstm<dyn, dyn, double>, 2>(4);
  expect_same_bits_as_typed<rnnx::gru<3, 45, double>, rnnx::gru<3, dyn, double>, 2>(5);
  expect_same_bits_as_typed<rnnx::mgu<6, 20>, rnnx::mgu<dyn, 20>, 3>(6);
}

TEST(DynamicSizes, SizesAreCheckedAtConstruction) {
  EXPECT_THROW((rnnx::lstm<3, dyn>(4, 10)), std::invalid_argument);
  EXPECT_THROW((rnnx::lstm<dyn, 10>(3, 11)), std::invalid_argument);
  EXPECT_THROW((rnnx::gru<dyn, dyn>(0, 10)), std::invalid_argument);
  EXPECT_THROW((rnnx::gru<dyn, dyn>(3, 0)), std::invalid_argument);
  try {
    rnnx::mgu<dyn, 8> bad(2, 9);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rnnx::mgu<2, 9>"), std::string::npos) << e.what();
  }
}

TEST(DynamicSizes, AttributesAndParametersHaveTheRunTimeSizes) {
  const rnnx::peephole_lstm<dyn, dyn> cell(7, 33);
  std::vector<std::pair<std::string, std::size_t>> attributes;
  cell.visit_attributes([&](std::string_view name, auto value) {
    if constexpr (std::is_convertible_v<decltype(value), std::size_t>)
      attributes.emplace_back(std::string(name), value);
  });
  ASSERT_EQ(attributes.size(), 2u);
  EXPECT_EQ(attributes[0], (std::pair<std::string, std::size_t>{"input_size", 7}));
  EXPECT_EQ(attributes[1], (std::pair<std::string, std::size_t>{"hidden_size", 33}));
  std::vector<std::string> shapes;
  cell.visit_parameters([&](std::string_view name, const auto& p) {
    shapes.push_back(std::string(name) + " " + std::to_string(p.rows) + "x" +
                     std::to_string(p.cols));
  });
  EXPECT_EQ(shapes, (std::vector<std::string>{"weight_ih 132x7", "weight_hh 132x33",
                                              "bias_ih 132x0", "bias_hh 132x0", "weight_ci 33x0",
                                              "weight_cf 33x0", "weight_co 33x0"}));
}

}  // namespace
