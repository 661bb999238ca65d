// The recurrent state API (rnnx/realtime/state.hpp): names and order of the state's vectors,
// the flat save / restore (bit-identical continuation, the output recomputed, NaN refused, no
// allocation) and state files (round trip, every kind of bad input named).

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <rnnx/rnnx.hpp>
#include <string>
#include <vector>

#include "counting_allocator.hpp"
#include "random_parameters.hpp"

namespace {

using rnnx_test::allocations;
using rnnx_test::counting;

template <class Net>
std::unique_ptr<Net> random_model(unsigned seed) {
  return rnnx_test::uniform_model<Net>(seed, -0.5, 0.5);
}

/// Steps the model over `steps` seeded random inputs, returning every output value in order.
template <class Net>
std::vector<typename Net::scalar> run(const Net& model, typename Net::state& s, std::size_t steps,
                                      unsigned seed) {
  using T = typename Net::scalar;
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> ys;
  std::array<T, Net::in_size> x{};
  for (std::size_t t = 0; t < steps; ++t) {
    for (auto& v : x) v = static_cast<T>(dist(gen));
    for (T y : model.step(x, s)) ys.push_back(y);
  }
  return ys;
}

template <class T, std::size_t N>
bool same_bits(std::span<const T, N> a, std::span<const T, N> b) {
  return std::memcmp(a.data(), b.data(), N * sizeof(T)) == 0;
}

template <class Net>
class StateContinuation : public ::testing::Test {};

using streaming_models = ::testing::Types<
    rnnx::network<rnnx::lstm<1, 16>, rnnx::dense<16, 1>>,
    rnnx::network<rnnx::gru<2, 9>, rnnx::layer_norm<9>, rnnx::dense<9, 3>>,
    rnnx::network<rnnx::rnn<3, 7, rnnx::relu>, rnnx::gru_reset_before<7, 5>>,
    rnnx::network<rnnx::peephole_lstm<1, 12>, rnnx::layer_norm<12>, rnnx::lstm<12, 6>,
                  rnnx::dense<6, 1, rnnx::tanh>>,
    rnnx::basic_network<double, rnnx::gru<1, 8>, rnnx::rnn<8, 4>, rnnx::dense<4, 2>>>;
TYPED_TEST_SUITE(StateContinuation, streaming_models);

// Run 50 steps, save, run 100 more (y1); restore, run the same 100 (y2): equal bit for bit,
// and the restored state's output is the saved state's.
TYPED_TEST(StateContinuation, RestoreContinuesBitIdentically) {
  using Net = TypeParam;
  using T = typename Net::scalar;
  const auto model = random_model<Net>(3);
  auto s = model->initial_state();
  run(*model, s, 50, 11);
  std::array<T, rnnx::state_size<Net>> saved{};
  rnnx::save_state(*model, s, std::span<T, rnnx::state_size<Net>>(saved));
  const auto output_at_save = s.output;
  const auto y1 = run(*model, s, 100, 12);

  auto restored = model->initial_state();
  ASSERT_EQ(rnnx::restore_state(*model, restored, saved), rnnx::restore_status::ok);
  EXPECT_TRUE((same_bits<T, Net::out_size>(restored.output.values(), output_at_save.values())))
      << "restore must set the output the saved step gave";
  const auto y2 = run(*model, restored, 100, 12);
  ASSERT_EQ(y1.size(), y2.size());
  EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(T)), 0)
      << Net::description() << ": outputs after restore differ from the original run";
}

// A "rest" state given as values is read back exactly, by save_state and by visit_state.
TYPED_TEST(StateContinuation, RestVectorReadsBackExactly) {
  using Net = TypeParam;
  using T = typename Net::scalar;
  const auto model = random_model<Net>(5);
  std::array<T, rnnx::state_size<Net>> rest{}, read{};
  for (std::size_t k = 0; k < rest.size(); ++k)
    rest[k] = static_cast<T>(0.37) * std::sin(static_cast<T>(k) + T(1));
  auto s = model->initial_state();
  ASSERT_EQ(rnnx::restore_state(*model, s, rest), rnnx::restore_status::ok);
  rnnx::save_state(*model, s, std::span<T, rnnx::state_size<Net>>(read));
  EXPECT_EQ(std::memcmp(rest.data(), read.data(), rest.size() * sizeof(T)), 0);
  std::size_t k = 0;
  rnnx::visit_state(*model, std::as_const(s), [&](std::string_view name, auto values) {
    for (T v : values) EXPECT_EQ(v, rest[k++]) << name;
  });
  EXPECT_EQ(k, rest.size());
}

// A NaN or infinity anywhere is refused and leaves the state as it was.
TYPED_TEST(StateContinuation, RestoreRefusesNonFiniteValues) {
  using Net = TypeParam;
  using T = typename Net::scalar;
  const auto model = random_model<Net>(7);
  auto s = model->initial_state();
  run(*model, s, 5, 1);
  const auto before = s;
  for (const T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                      -std::numeric_limits<T>::infinity()})
    for (const std::size_t at : {std::size_t{0}, rnnx::state_size<Net> - 1}) {
      std::array<T, rnnx::state_size<Net>> values{};
      values[at] = bad;
      EXPECT_EQ(rnnx::restore_state(*model, s, values), rnnx::restore_status::not_finite);
      EXPECT_TRUE(s == before);
    }
}

// save_state and restore_state are on the real-time path: no heap allocation.
TYPED_TEST(StateContinuation, SaveAndRestoreAllocateNothing) {
  using Net = TypeParam;
  using T = typename Net::scalar;
  const auto model = random_model<Net>(9);
  auto s = model->initial_state();
  run(*model, s, 5, 2);
  std::array<T, rnnx::state_size<Net>> values{};
  allocations = 0;
  counting = true;
  for (int i = 0; i < 10; ++i) {
    rnnx::save_state(*model, s, std::span<T, rnnx::state_size<Net>>(values));
    if (rnnx::restore_state(*model, s, values) != rnnx::restore_status::ok) break;
  }
  counting = false;
  EXPECT_EQ(allocations, 0);
}

// all_finite sees a NaN or an infinity in any vector of any layer, allocates nothing, and the
// recovery it serves (reset, go on) gives finite outputs again.
TEST(StateFinite, SeesEveryNonFiniteValueAndTheResetRecovers) {
  using Net = rnnx::network<rnnx::lstm<1, 5>, rnnx::gru<5, 3>, rnnx::dense<3, 1>>;
  auto model = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, 4, -0.5, 0.5);
  auto s = model->initial_state();
  for (int t = 0; t < 10; ++t) static_cast<void>(model->step(0.3f * float(t), s));
  EXPECT_TRUE(rnnx::all_finite(*model, s));
  std::size_t vectors = 0;
  rnnx::visit_state(*model, s, [&](std::string_view, auto) { ++vectors; });
  for (std::size_t which = 0; which < vectors; ++which)
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()}) {
      auto poisoned = s;
      std::size_t k = 0;
      rnnx::visit_state(*model, poisoned, [&](std::string_view, auto values) {
        if (k++ == which) values[values.size() - 1] = bad;
      });
      allocations = 0;
      counting = true;
      const bool finite = rnnx::all_finite(*model, poisoned);
      counting = false;
      EXPECT_FALSE(finite) << "vector " << which << " value " << bad;
      EXPECT_EQ(allocations, 0);
    }
  // A NaN input poisons the state; the check sees it, a reset recovers.
  static_cast<void>(model->step(std::numeric_limits<float>::quiet_NaN(), s));
  EXPECT_FALSE(rnnx::all_finite(*model, s));
  s = model->initial_state();
  EXPECT_TRUE(std::isfinite(model->step(0.5f, s)[0]));
  EXPECT_TRUE(rnnx::all_finite(*model, s));
}

TEST(StateNames, LayerIndexTypeAndVectorInFlatOrder) {
  using Net = rnnx::network<rnnx::lstm<1, 4>, rnnx::dense<4, 1>, rnnx::gru<1, 3>>;
  static_assert(rnnx::state_size<Net> == 4 + 4 + 3);
  Net model;
  auto s = model.initial_state();
  std::vector<std::string> names;
  std::vector<std::size_t> sizes;
  rnnx::visit_state(model, s, [&](std::string_view name, auto values) {
    names.emplace_back(name);
    sizes.push_back(values.size());
    for (auto& v : values) v = static_cast<float>(names.size());  // writable for a mutable state
  });
  EXPECT_EQ(names, (std::vector<std::string>{"layer0.lstm.h", "layer0.lstm.c", "layer2.gru.h"}));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 3}));
  EXPECT_EQ(boost::hana::at_c<0>(s.layers).c[3], 2.0f);
  EXPECT_EQ(boost::hana::at_c<2>(s.layers).h[0], 3.0f);
}

TEST(StateNames, BidirectionalDirectionsAsItsParameters) {
  using Net = rnnx::network<rnnx::bidirectional<rnnx::lstm<2, 3>>, rnnx::dense<6, 1>,
                            rnnx::bidirectional<rnnx::gru<1, 2>>>;
  static_assert(rnnx::state_size<Net> == 4 * 3 + 2 * 2);
  std::vector<std::string> names;
  typename Net::state s{};
  rnnx::visit_state<Net>(s, [&](std::string_view name, auto) { names.emplace_back(name); });
  EXPECT_EQ(names, (std::vector<std::string>{
                       "layer0.bidirectional.h", "layer0.bidirectional.c",
                       "layer0.bidirectional.h_reverse", "layer0.bidirectional.c_reverse",
                       "layer2.bidirectional.h", "layer2.bidirectional.h_reverse"}));
}

TEST(StateNames, TwoDigitLayerIndex) {
  using Net =
      rnnx::network<rnnx::dense<1, 1>, rnnx::dense<1, 1>, rnnx::dense<1, 1>, rnnx::dense<1, 1>,
                    rnnx::dense<1, 1>, rnnx::dense<1, 1>, rnnx::dense<1, 1>, rnnx::dense<1, 1>,
                    rnnx::dense<1, 1>, rnnx::dense<1, 1>, rnnx::dense<1, 1>, rnnx::rnn<1, 2>>;
  std::vector<std::string> names;
  typename Net::state s{};
  rnnx::visit_state<Net>(s, [&](std::string_view name, auto) { names.emplace_back(name); });
  EXPECT_EQ(names, std::vector<std::string>{"layer11.rnn.h"});
}

// Without a recurrent layer there is nothing to save, and the output cannot be known.
TEST(StateOutput, StatelessNetworkRestoresZeroOutput) {
  using Net = rnnx::network<rnnx::dense<2, 3>>;
  static_assert(rnnx::state_size<Net> == 0);
  const auto model = random_model<Net>(1);
  auto s = model->initial_state();
  run(*model, s, 3, 1);
  std::array<float, 0> none{};
  ASSERT_EQ(rnnx::restore_state(*model, s, none), rnnx::restore_status::ok);
  EXPECT_TRUE(s == model->initial_state());
}

// ---- files -------------------------------------------------------------------------------

using file_model = rnnx::network<rnnx::lstm<1, 4>, rnnx::dense<4, 2>>;

std::filesystem::path temporary(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("rnnx_state_test_" + name);
}

template <class Net>
void expect_file_round_trip(unsigned seed) {
  const auto model = random_model<Net>(seed);
  auto s = model->initial_state();
  run(*model, s, 20, seed);
  const auto path = temporary(std::to_string(seed) + ".json");
  rnnx::save_state_file(*model, s, path);
  auto loaded = model->initial_state();
  rnnx::load_state_file(*model, loaded, path);
  std::filesystem::remove(path);
  EXPECT_TRUE(loaded == s) << Net::description() << ": state and output bit for bit";
}

TEST(StateFile, RoundTripIsExact) {
  expect_file_round_trip<file_model>(1);
  expect_file_round_trip<
      rnnx::network<rnnx::peephole_lstm<2, 5>, rnnx::layer_norm<5>, rnnx::gru_reset_before<5, 3>>>(
      2);
  expect_file_round_trip<rnnx::basic_network<double, rnnx::gru<1, 6>, rnnx::dense<6, 1>>>(3);
}

TEST(StateFile, WritesTheWeightFileStyle) {
  const auto model = random_model<file_model>(1);
  auto s = model->initial_state();
  run(*model, s, 3, 1);
  const auto doc = nlohmann::json::parse(rnnx::state_to_string(*model, s));
  EXPECT_EQ(doc["format"], "rnnx.state");
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["dtype"], "float32");
  ASSERT_EQ(doc["layers"].size(), 2u);
  EXPECT_EQ(doc["layers"][0]["type"], "lstm");
  EXPECT_EQ(doc["layers"][0]["hidden_size"], 4);
  EXPECT_EQ(doc["layers"][0]["state"]["c"].size(), 4u);
  EXPECT_EQ(doc["layers"][0]["state"]["c"][2].get<float>(), boost::hana::at_c<0>(s.layers).c[2]);
  EXPECT_EQ(doc["layers"][1]["state"], nlohmann::json::object());
}

/// Loading `document` must fail with a message containing `expected`, leaving the state alone.
void expect_refused(const nlohmann::json& document, const std::string& expected) {
  const auto model = random_model<file_model>(1);
  auto s = model->initial_state();
  run(*model, s, 3, 1);
  const auto before = s;
  try {
    rnnx::load_state_from_json(*model, s, document);
    ADD_FAILURE() << "accepted: " << document.dump() << " (expected: " << expected << ")";
  } catch (const rnnx::state_error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << expected;
  }
  EXPECT_TRUE(s == before) << "a failed load changed the state";
}

nlohmann::json good_document() {
  const auto model = random_model<file_model>(1);
  auto s = model->initial_state();
  run(*model, s, 3, 1);
  return nlohmann::json::parse(rnnx::state_to_string(*model, s));
}

TEST(StateFile, GoodDocumentLoads) {
  const auto model = random_model<file_model>(1);
  auto s = model->initial_state();
  EXPECT_NO_THROW(rnnx::load_state_from_json(*model, s, good_document()));
}

TEST(StateFile, WrongArchitectureIsNamed) {
  auto doc = good_document();
  doc["format"] = "rnnx.weights";
  expect_refused(doc, "field 'format' must be \"rnnx.state\"");

  doc = good_document();
  doc["layers"].erase(1);
  expect_refused(doc, "the file has 1 layers, the model lstm<1, 4> -> dense<4, 2, identity> has 2");

  doc = good_document();
  doc["layers"][0]["type"] = "gru";
  expect_refused(doc, "layer 0 (lstm<1, 4>): type is 'gru', the model has lstm<1, 4>");

  doc = good_document();
  doc["layers"][0]["hidden_size"] = 5;
  expect_refused(doc, "layer 0 (lstm<1, 4>): field 'hidden_size' is 5, the model has lstm<1, 4>");

  doc = good_document();
  doc["layers"][1]["activation"] = "tanh";
  expect_refused(doc, "layer 1 (dense<4, 2, identity>): field 'activation' is \"tanh\"");

  doc = good_document();
  doc["dtype"] = "float64";
  expect_refused(doc, "the file holds float64 values and the model is float32");
}

TEST(StateFile, WrongOrMissingValuesAreNamed) {
  auto doc = good_document();
  doc["layers"][0]["state"].erase("c");
  expect_refused(doc, "layer 0 (lstm<1, 4>): state 'c' is missing");

  doc = good_document();
  doc["layers"][0]["state"]["h"].erase(3);
  expect_refused(doc,
                 "layer 0 (lstm<1, 4>): state 'h' must be a list of 4 numbers, found 3 entries");

  doc = good_document();
  doc["layers"][0]["state"]["h"] = 0.5;
  expect_refused(doc, "state 'h' must be a list of 4 numbers, found a number");

  doc = good_document();
  doc["layers"][0]["state"]["h"][1] = nullptr;
  expect_refused(doc, "state 'h'[1] is null, not a number");

  doc = good_document();
  doc["layers"][0]["state"]["h"][2] = "nan";
  expect_refused(doc, "state 'h'[2] is a string, not a number");

  doc = good_document();
  doc["layers"][0]["state"]["c"][0] = 1e39;  // finite in the file, infinite as a float
  expect_refused(doc, "state 'c'[0] = 1e+39 is not a finite float32 value");

  doc = good_document();
  doc["layers"][0]["state"]["cell"] = nlohmann::json::array({1, 2, 3, 4});
  expect_refused(doc, "layer 0 (lstm<1, 4>): unknown state 'cell' for lstm<1, 4>");

  doc = good_document();
  doc["layers"][1]["state"]["h"] = nlohmann::json::array({1});
  expect_refused(doc, "layer 1 (dense<4, 2, identity>): unknown state 'h'");

  doc = good_document();
  doc["layers"][0].erase("state");
  expect_refused(doc, "layer 0 (lstm<1, 4>): field 'state' is missing");

  doc = good_document();
  doc["layers"][0]["parameters"] = nlohmann::json::object();
  expect_refused(doc, "layer 0 (lstm<1, 4>): unknown field 'parameters'");
}

TEST(StateFile, TextAndFileErrorsAreNamed) {
  const auto model = random_model<file_model>(1);
  auto s = model->initial_state();
  EXPECT_THROW(rnnx::load_state_from_string(*model, s, "{\"format\": NaN}"), rnnx::state_error);
  try {
    rnnx::load_state_file(*model, s, temporary("does_not_exist.json"));
    ADD_FAILURE() << "a missing file loaded";
  } catch (const rnnx::state_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
  boost::hana::at_c<0>(s.layers).h[1] = std::numeric_limits<float>::quiet_NaN();
  try {
    rnnx::save_state_file(*model, s, temporary("nan.json"));
    ADD_FAILURE() << "a NaN state was written";
  } catch (const rnnx::state_error& e) {
    EXPECT_NE(std::string(e.what()).find("layer0.lstm.h[1] is not finite"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(temporary("nan.json")));
}

}  // namespace
