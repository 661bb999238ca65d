// rnnx::dynamic: runtime-sized models give the typed models' outputs (to float rounding) and
// PyTorch's (every committed fixture that records outputs, loaded with no type known at compile
// time); weight files round-trip byte for byte with the typed writer; malformed documents and
// misuse are errors; streaming allocates nothing.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <random>
#include <rnnx/dynamic/dynamic.hpp>
#include <rnnx/rnnx.hpp>
#include <set>
#include <string>
#include <vector>
#include <xtensor/xview.hpp>

#include "counting_allocator.hpp"
#include "fixture_support.hpp"
#include "random_parameters.hpp"

using rnnx_test::allocations;
using rnnx_test::counting;

namespace {

using namespace rnnx;

template <class T>
xt::xtensor<T, 2> random_inputs(std::size_t steps, std::size_t features, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  xt::xtensor<T, 2> xs = xt::xtensor<T, 2>::from_shape({steps, features});
  for (std::size_t t = 0; t < steps; ++t)
    for (std::size_t j = 0; j < features; ++j)
      xs(t, j) = T(std::sin(0.05 * double(t) * double(j + 1)) + 0.3 * noise(gen));
  return xs;
}

/// A typed model with seeded parameters, scaled like PyTorch's initialisation (1/sqrt(fan)).
template <class Net>
std::unique_ptr<Net> random_typed(unsigned seed, double bound) {
  auto model = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, seed, -bound, bound);
  return model;
}

/// Typed and dynamic (converted, and loaded from the typed model's weight file) against each
/// other: the weight files are byte-identical, the dynamic model's step and forward agree
/// exactly, and both agree with the typed model within `tolerance`.
template <class Net>
void check_against_typed(double bound, unsigned seed = 7, std::size_t steps = 300) {
  using T = typename Net::scalar;
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  const auto typed = random_typed<Net>(seed, bound);
  const auto converted = dynamic::from_typed(*typed);
  const std::string text = weights_to_string(*typed);
  const auto loaded = dynamic::network_from_string<T>(text);
  EXPECT_EQ(dynamic::weights_to_string(converted), text) << Net::description();
  EXPECT_TRUE(converted == loaded);
  EXPECT_EQ(converted.description(), Net::description());
  ASSERT_EQ(converted.in_size(), Net::in_size);
  ASSERT_EQ(converted.out_size(), Net::out_size);

  const xt::xtensor<T, 2> xs = random_inputs<T>(steps, Net::in_size, seed + 1);
  const xt::xtensor<T, 2> expected = typed->forward(xs);
  const xt::xtensor<T, 2> ys = converted.forward(xs);
  auto ts = typed->initial_state();
  auto ds = converted.initial_state();
  double worst = 0;
  std::size_t mismatches = 0;
  for (std::size_t t = 0; t < steps; ++t) {
    std::array<T, Net::in_size> x;
    for (std::size_t j = 0; j < Net::in_size; ++j) x[j] = xs(t, j);
    const auto typed_y = typed->step(x, ts);
    const auto dyn_y = converted.step(std::span<const T>(x), ds);
    ASSERT_EQ(dyn_y.size(), Net::out_size);
    for (std::size_t j = 0; j < Net::out_size; ++j) {
      worst = std::max(worst, std::abs(double(dyn_y[j]) - double(typed_y[j])));
      worst = std::max(worst, std::abs(double(ys(t, j)) - double(expected(t, j))));
      mismatches += dyn_y[j] != ys(t, j);
    }
  }
  EXPECT_LE(worst, tolerance) << Net::description();
  EXPECT_EQ(mismatches, 0u) << Net::description() << ": dynamic step and forward disagree";
  std::cout << "[ typed    ] " << Net::description() << ": max |dynamic - typed| = " << worst
            << "\n";
}

template <std::size_t H>
using lstm_head = network<lstm<1, H>, dense<H, 1>>;
template <std::size_t H>
using gru_head = network<gru<1, H>, dense<H, 1>>;

double init_bound(std::size_t fan_in) { return 1.0 / std::sqrt(double(fan_in)); }

TEST(DynamicVsTyped, LstmWithDenseHead) {
  check_against_typed<lstm_head<1>>(init_bound(1));
  check_against_typed<lstm_head<7>>(init_bound(7));
  check_against_typed<lstm_head<8>>(init_bound(8));
  check_against_typed<lstm_head<16>>(init_bound(16));
  check_against_typed<lstm_head<17>>(init_bound(17));
  check_against_typed<lstm_head<32>>(init_bound(32));
  check_against_typed<lstm_head<64>>(init_bound(64));
  check_against_typed<lstm_head<100>>(init_bound(100));  // 7 slices: a block of 4, then of 3
  check_against_typed<lstm_head<128>>(init_bound(128));
  check_against_typed<lstm_head<256>>(init_bound(256), 7, 100);
}

TEST(DynamicVsTyped, GruWithDenseHead) {
  check_against_typed<gru_head<1>>(init_bound(1));
  check_against_typed<gru_head<8>>(init_bound(8));
  check_against_typed<gru_head<16>>(init_bound(16));
  check_against_typed<gru_head<33>>(init_bound(33));
  check_against_typed<gru_head<64>>(init_bound(64));
  check_against_typed<gru_head<128>>(init_bound(128));
  check_against_typed<gru_head<200>>(init_bound(200), 7, 100);  // 13 slices: 5 + 5 + 3
  check_against_typed<gru_head<256>>(init_bound(256), 7, 100);
}

TEST(DynamicVsTyped, ElmanRnn) {
  check_against_typed<network<rnn<4, 17>, dense<17, 1>>>(init_bound(17));
  check_against_typed<network<rnn<2, 9, relu>, dense<9, 1, sigmoid>>>(init_bound(9));
  check_against_typed<network<rnn<3, 300>, dense<300, 20, rnnx::tanh>>>(init_bound(300), 7, 60);
}

TEST(DynamicVsTyped, DenseAndActivations) {
  check_against_typed<network<dense<5, 6, sigmoid>, dense<6, 2>>>(0.8);
  check_against_typed<network<dense<3, 40, relu>, dense<40, 9, softmax>>>(0.5);      // column-major
  check_against_typed<network<dense<3, 7, rnnx::tanh>, dense<7, 3, softmax>>>(0.5);  // row-major
  check_against_typed<network<dense<20, 33>, activation<33, softmax>>>(0.5);
  check_against_typed<network<dense<2, 300, relu>, dense<300, 17, sigmoid>>>(0.2);
  check_against_typed<network<dense<3, 11, rnnx::elu>, activation<11, rnnx::elu>, dense<11, 2>>>(
      2.0);
}

TEST(DynamicVsTyped, Stacks) {
  check_against_typed<
      network<lstm<3, 33>, gru<33, 12>, activation<12, relu>, dense<12, 4, relu>, dense<4, 2>>>(
      0.3);
  check_against_typed<network<lstm<16, 128>, dense<128, 16>>>(init_bound(128), 7, 100);
  check_against_typed<network<gru<2, 5>, lstm<5, 5>, rnn<5, 3, relu>, dense<3, 1>>>(0.6);
}

TEST(DynamicVsTyped, Double) {
  check_against_typed<basic_network<double, lstm<2, 20>, dense<20, 1>>>(0.4);
  check_against_typed<basic_network<double, gru<3, 11>, rnn<11, 6>, dense<6, 2, softmax>>>(0.4);
}

// ---- every PyTorch fixture that records outputs, with no type known at compile time --------

template <class T>
double worst_difference(const dynamic::basic_network<T>& model, const nlohmann::json& input,
                        const nlohmann::json& output, const std::string& name) {
  double worst = 0;
  auto run = [&](const nlohmann::json& xs_json, const nlohmann::json& ys_json) {
    const xt::xtensor<T, 2> xs = rnnx_test::to_matrix<T>(xs_json);
    const xt::xtensor<T, 2> expected = rnnx_test::to_matrix<T>(ys_json);
    EXPECT_EQ(expected.shape(1), model.out_size()) << name;
    const xt::xtensor<T, 2> ys = model.forward(xs);
    auto state = model.initial_state();
    std::size_t mismatches = 0;
    for (std::size_t t = 0; t < xs.shape(0); ++t) {
      std::vector<T> x(model.in_size());
      for (std::size_t j = 0; j < x.size(); ++j) x[j] = xs(t, j);
      const auto y = model.step(std::span<const T>(x), state);
      for (std::size_t j = 0; j < model.out_size(); ++j) {
        worst = std::max(worst, std::abs(double(ys(t, j)) - double(expected(t, j))));
        mismatches += y[j] != ys(t, j);
      }
    }
    EXPECT_EQ(mismatches, 0u) << name << ": step and forward disagree";
  };
  if (input.at(0).at(0).is_array()) {  // B x T x features: B sequences, each from zero state
    for (std::size_t b = 0; b < input.size(); ++b) run(input[b], output.at(b));
  } else {
    run(input, output);
  }
  return worst;
}

TEST(DynamicFixtures, EveryFixtureWithOutputs) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(RNNX_FIXTURE_DIR))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::size_t compared = 0, loaded = 0, beyond_dynamic = 0;
  for (const auto& path : files) {
    const std::string name = path.stem().string();
    const nlohmann::json fixture = rnnx_test::read_fixture(name);
    if (!fixture.contains("model")) continue;
    const nlohmann::json& model = fixture.at("model");
    // rnnx::dynamic implements dense, activation and every recurrent cell (README, known
    // limits); the others must be refused with a message naming the type.
    const std::set<std::string> implemented{
        "dense", "activation",       "rnn",       "lstm",      "peephole_lstm", "gru",
        "mgu",   "gru_reset_before", "cifg_lstm", "light_gru", "indrnn"};
    const bool supported = std::all_of(
        model.at("layers").begin(), model.at("layers").end(),
        [&](const nlohmann::json& layer) { return implemented.count(layer.at("type")) > 0; });
    if (!supported) {
      ++beyond_dynamic;
      try {
        dynamic::network_from_json<double>(model, name);
        ADD_FAILURE() << name << ": loaded a layer type rnnx::dynamic does not implement";
      } catch (const weights_error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown layer type"), std::string::npos) << e.what();
      }
      continue;
    }
    const bool is_float = model.at("dtype") == "float32";
    auto check = [&](auto net) {
      ++loaded;
      if (!fixture.contains("output")) return;
      using T = typename decltype(net)::scalar;
      const double worst = worst_difference(net, fixture.at("input"), fixture.at("output"), name);
      const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;
      EXPECT_LE(worst, tolerance) << name;
      std::cout << "[ fixture  ] " << name << " (" << net.description()
                << "): max |dynamic - torch| = " << worst << "\n";
      ++compared;
    };
    if (is_float) {
      check(dynamic::network_from_json<float>(model, name));
    } else {
      check(dynamic::network_from_json<double>(model, name));
    }
    // A float32 file loads into a double model exactly, too.
    if (is_float) {
      EXPECT_NO_THROW(dynamic::network_from_json<double>(model, name));
    }
  }
  EXPECT_GE(compared, 25u) << "fixtures with outputs found in " << RNNX_FIXTURE_DIR;
  EXPECT_EQ(loaded + beyond_dynamic, files.size());
}

TEST(DynamicFixtures, LoadedModelEqualsTypedLoad) {
  const nlohmann::json fixture = rnnx_test::read_fixture("stack_lstm_gru_dense");
  using Net = network<lstm<2, 16>, gru<16, 12>, dense<12, 4, relu>, dense<4, 1>>;
  auto typed = std::make_unique<Net>();
  load_weights_from_json(*typed, fixture.at("model"));
  EXPECT_TRUE(dynamic::network_from_json(fixture.at("model")) == dynamic::from_typed(*typed));
}

// ---- the streaming API -----------------------------------------------------------------

TEST(DynamicNetwork, StreamingAllocatesNothing) {
  const auto typed = random_typed<network<lstm<3, 40>, gru<40, 20>, dense<20, 3, softmax>>>(3, 0.3);
  const auto model = dynamic::from_typed(*typed);
  auto state = model.initial_state();
  const std::array<float, 3> x{0.1f, -0.2f, 0.3f};
  allocations = 0;
  counting = true;
  for (int t = 0; t < 1000; ++t) {
    model.step(std::span<const float>(x), state);
    state.reset();
    model.step(std::span<const float>(x), state);
  }
  counting = false;
  EXPECT_EQ(allocations, 0);
}

/// n streams stepped together equal, bit for bit, each stream stepped alone, and allocate
/// nothing; 11 streams: a shared-load group of 8 (4 on 16 registers) and single steps.
template <class Net>
void check_streams(unsigned seed) {
  const auto model = dynamic::from_typed(*random_typed<Net>(seed, 0.3));
  constexpr std::size_t n = 11, steps = 6, in = Net::in_size, out = Net::out_size;
  std::vector<dynamic::network::state> together, alone;
  for (std::size_t k = 0; k < n; ++k) {
    together.push_back(model.initial_state());
    alone.push_back(model.initial_state());
  }
  const xt::xtensor<float, 2> xs = random_inputs<float>(steps * n, in, seed + 1);
  std::vector<float> y(n * out);
  for (std::size_t t = 0; t < steps; ++t) {
    const std::span<const float> x(xs.data() + t * n * in, n * in);
    allocations = 0;
    counting = true;
    model.step(x, std::span(together), std::span(y));
    counting = false;
    EXPECT_EQ(allocations, 0);
    for (std::size_t k = 0; k < n; ++k) {
      const auto expected = model.step(x.subspan(k * in, in), alone[k]);
      for (std::size_t j = 0; j < out; ++j)
        ASSERT_EQ(y[k * out + j], expected[j])
            << model.description() << ": stream " << k << ", step " << t << ", output " << j;
      EXPECT_TRUE(together[k] == alone[k]);
    }
  }
}

TEST(DynamicNetwork, StreamsGiveEachStreamsBits) {
  check_streams<network<lstm<3, 40>, gru<40, 20>, dense<20, 3, softmax>>>(3);
  check_streams<lstm_head<160>>(4);
  check_streams<network<mgu<2, 70>, dense<70, 2>>>(5);
  check_streams<network<rnn<1, 8>, dense<8, 1>>>(6);
}

TEST(DynamicNetwork, StreamsMisuse) {
  const auto model = dynamic::from_typed(*random_typed<network<gru<2, 5>, dense<5, 1>>>(2, 0.4));
  const auto other = dynamic::from_typed(*random_typed<lstm_head<4>>(2, 0.4));
  std::vector<dynamic::network::state> states{model.initial_state(), model.initial_state()};
  std::vector<float> x(4), y(2);
  model.step(std::span<const float>(x), std::span(states), std::span(y));
  std::vector<float> short_x(3), long_y(3);
  EXPECT_THROW(model.step(std::span<const float>(short_x), std::span(states), std::span(y)),
               std::invalid_argument);
  EXPECT_THROW(model.step(std::span<const float>(x), std::span(states), std::span(long_y)),
               std::invalid_argument);
  states[1] = other.initial_state();
  EXPECT_THROW(model.step(std::span<const float>(x), std::span(states), std::span(y)),
               std::invalid_argument);
}

TEST(DynamicNetwork, StatesAreIndependentAndReset) {
  const auto model = dynamic::from_typed(*random_typed<lstm_head<12>>(5, 0.4));
  auto a = model.initial_state();
  auto b = model.initial_state();
  const float y0 = model.step(0.5f, a)[0];
  EXPECT_FALSE(a == b);
  model.step(0.25f, a);
  a.reset();
  EXPECT_TRUE(a == b);
  EXPECT_EQ(model.step(0.5f, a)[0], y0);
  const xt::xtensor<float, 2> xs = random_inputs<float>(50, 1, 9);
  auto s = model.initial_state();
  const auto first =
      model.forward(xt::xtensor<float, 2>(xt::view(xs, xt::range(0, 20), xt::all())), s);
  const auto rest =
      model.forward(xt::xtensor<float, 2>(xt::view(xs, xt::range(20, 50), xt::all())), s);
  const auto whole = model.forward(xs);
  EXPECT_EQ(rest(29, 0), whole(49, 0));
  EXPECT_EQ(first(19, 0), whole(19, 0));
  EXPECT_EQ(model.forward_last(xs)(0), whole(49, 0));
}

TEST(DynamicNetwork, Misuse) {
  const auto model = dynamic::from_typed(*random_typed<network<gru<2, 5>, dense<5, 1>>>(2, 0.4));
  const auto other = dynamic::from_typed(*random_typed<lstm_head<4>>(2, 0.4));
  auto state = model.initial_state();
  auto other_state = other.initial_state();
  const std::array<float, 3> three{1, 2, 3};
  EXPECT_THROW(model.step(std::span<const float>(three), state), std::invalid_argument);
  EXPECT_THROW(model.step(1.0f, state), std::invalid_argument);  // two inputs expected
  const std::array<float, 2> two{1, 2};
  EXPECT_THROW(model.step(std::span<const float>(two), other_state), std::invalid_argument);
  EXPECT_THROW(model.forward(random_inputs<float>(10, 3, 1)), std::invalid_argument);
  EXPECT_THROW(model.forward(xt::xtensor<float, 2>::from_shape({0, 2})), std::invalid_argument);
  auto nan_input = random_inputs<float>(10, 2, 1);
  nan_input(4, 1) = std::nanf("");
  EXPECT_THROW(model.forward(nan_input), std::invalid_argument);

  using layer = dynamic::network::layer;
  std::vector<layer> mismatched;
  mismatched.emplace_back(std::in_place_type<dynamic::lstm<float>>, 1, 8);
  mismatched.emplace_back(std::in_place_type<dynamic::dense<float>>, 9, 1);
  EXPECT_THROW(dynamic::network(std::move(mismatched)), std::invalid_argument);
  EXPECT_THROW(dynamic::network(std::vector<layer>{}), std::invalid_argument);
  EXPECT_THROW(dynamic::lstm<float>(0, 4), std::invalid_argument);
  EXPECT_THROW(dynamic::gru<float>(3, 0), std::invalid_argument);
}

TEST(DynamicNetwork, BuiltByHand) {
  // lstm<1, 3> -> dense<3, 1> with every parameter set through visit_parameters equals the
  // typed model filled the same way.
  auto typed = random_typed<lstm_head<3>>(11, 0.5);
  std::vector<dynamic::network::layer> layers;
  layers.emplace_back(std::in_place_type<dynamic::lstm<float>>, 1, 3);
  layers.emplace_back(std::in_place_type<dynamic::dense<float>>, 3, 1);
  dynamic::network model(std::move(layers));
  std::vector<float> values;
  typed->for_each_layer([&](auto, auto& l) {
    l.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) values.push_back(p.at(r, c));
    });
  });
  std::size_t k = 0;
  model.for_each_layer([&](std::size_t, auto& l) {
    l.visit_parameters([&](std::string_view, auto&& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank() == 1 ? 1 : p.cols); ++c) p.at(r, c) = values[k++];
    });
  });
  ASSERT_EQ(k, values.size());
  EXPECT_TRUE(model == dynamic::from_typed(*typed));
}

// ---- weight files ------------------------------------------------------------------------

nlohmann::json small_document() {
  auto typed = random_typed<network<lstm<2, 3>, dense<3, 2, sigmoid>>>(4, 0.5);
  return nlohmann::json::parse(weights_to_string(*typed));
}

void expect_error(const nlohmann::json& document, const std::string& fragment) {
  try {
    dynamic::network_from_json(document, "doc");
    ADD_FAILURE() << "no error; expected one mentioning: " << fragment;
  } catch (const weights_error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << fragment;
  }
}

TEST(DynamicWeights, MalformedDocuments) {
  auto d = small_document();
  EXPECT_NO_THROW(dynamic::network_from_json(d));

  auto bad = d;
  bad["format"] = "other";
  expect_error(bad, "field 'format'");
  bad = d;
  bad["version"] = 2;
  expect_error(bad, "field 'version' must be 1, found 2");
  bad = d;
  bad["dtype"] = "float64";
  expect_error(bad, "float64 values and the model is float32");
  bad = d;
  bad["layers"] = nlohmann::json::array();
  expect_error(bad, "'layers'");
  bad = d;
  bad["layers"][0]["type"] = "conv";
  expect_error(bad, "layer 0 (conv): unknown layer type 'conv'");
  bad = d;
  bad["layers"][0].erase("hidden_size");
  expect_error(bad, "layer 0 (lstm): field 'hidden_size' is missing");
  bad = d;
  bad["layers"][0]["hidden_size"] = 0u;
  expect_error(bad, "field 'hidden_size' must be an integer in [1, ");
  bad = d;
  bad["layers"][0]["hidden_size"] = 100000000u;
  expect_error(bad, "field 'hidden_size' must be an integer in [1, ");
  bad = d;
  bad["layers"][0]["color"] = "red";
  expect_error(bad, "unknown field 'color'");
  bad = d;
  bad["layers"][1]["activation"] = "gelu";
  expect_error(bad,
               "layer 1 (dense): field 'activation' is \"gelu\"; expected one of identity, "
               "sigmoid, tanh, relu, elu, softmax");
  bad = d;  // the choices are the typed layer's description's: an rnn takes tanh or relu only
  bad["layers"][0] = {{"type", "rnn"},
                      {"input_size", 2u},
                      {"hidden_size", 3u},
                      {"nonlinearity", "sigmoid"},
                      {"parameters", nlohmann::json::object()}};
  expect_error(bad, "layer 0 (rnn): field 'nonlinearity' is \"sigmoid\"; expected tanh or relu");
  bad = d;
  bad["layers"][0]["parameters"].erase("bias_hh");
  expect_error(bad, "parameter 'bias_hh' is missing");
  bad = d;
  bad["layers"][0]["parameters"]["peephole"] = nlohmann::json::array();
  expect_error(bad, "unknown parameter 'peephole'");
  bad = d;
  bad["layers"][0]["parameters"]["weight_hh"].erase(0);
  expect_error(bad, "parameter 'weight_hh' must be a list of 12 rows (shape [12 x 3]), found 11");
  bad = d;
  bad["layers"][0]["parameters"]["weight_ih"][5] = {1.0};
  expect_error(bad, "parameter 'weight_ih' row 5 must hold 2 numbers (shape [12 x 2])");
  bad = d;
  bad["layers"][1]["parameters"]["bias"][1] = "x";
  expect_error(bad, "parameter 'bias'[1] is a string, not a number");
  bad = d;
  bad["layers"][1]["parameters"]["weight"][0][2] = 1e300;
  expect_error(bad, "is not a finite float32 value");
  bad = d;
  bad["layers"][1]["in_features"] = 4u;
  bad["layers"][1]["parameters"]["weight"] = {{1, 2, 3, 4}, {1, 2, 3, 4}};
  expect_error(bad,
               "layer 1 (dense<4, 2, sigmoid>) expects 4 inputs, layer 0 (lstm<2, 3>) gives 3");
  EXPECT_THROW(dynamic::network_from_string("{not json"), weights_error);
  EXPECT_THROW(dynamic::load_network("/nonexistent/model.json"), weights_error);
}

TEST(DynamicWeights, SaveAndLoadFile) {
  const auto model = dynamic::network_from_json(small_document());
  const auto path = std::filesystem::temp_directory_path() / "rnnx_dynamic_test_weights.json";
  dynamic::save_weights(model, path);
  EXPECT_TRUE(dynamic::load_network(path) == model);
  // The typed loader reads what the dynamic writer wrote.
  network<lstm<2, 3>, dense<3, 2, sigmoid>> typed;
  load_weights(typed, path);
  EXPECT_TRUE(dynamic::from_typed(typed) == model);
  std::filesystem::remove(path);
}

}  // namespace
