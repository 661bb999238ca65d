// rnnx::model_set: a weight file chooses one of several compiled model types at run time; the
// chosen model's block processing equals stepping the concrete type bit for bit and allocates
// nothing; an unsupported or malformed file is refused with a message that says why.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <rnnx/realtime/model_set.hpp>
#include <rnnx/rnnx.hpp>
#include <string>
#include <vector>

#include "counting_allocator.hpp"
#include "random_parameters.hpp"

namespace {

using lstm8 = rnnx::network<rnnx::lstm<1, 8>, rnnx::dense<8, 1>>;
using lstm16 = rnnx::network<rnnx::lstm<1, 16>, rnnx::dense<16, 1>>;
using gru12 = rnnx::network<rnnx::gru<1, 12>, rnnx::dense<12, 1, rnnx::tanh>>;
using stacked = rnnx::network<rnnx::lstm<1, 8>, rnnx::gru<8, 6>, rnnx::dense<6, 1>>;
using amp_set = rnnx::model_set<lstm8, lstm16, gru12, stacked>;

static_assert(amp_set::size == 4 && amp_set::single_channel);
static_assert(!rnnx::model_set<rnnx::network<rnnx::lstm<2, 4>, rnnx::dense<4, 1>>>::single_channel);

#ifdef RNNX_SANITIZED_BUILD
constexpr std::size_t block_samples = 64;
#else
constexpr std::size_t block_samples = 512;
#endif

class ModelSet : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("rnnx_model_set_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// A randomly filled Net saved as `name`; returns the model (heap: models can be large).
  template <class Net>
  std::unique_ptr<Net> saved_model(const std::string& name, unsigned seed) {
    auto model = std::make_unique<Net>();
    rnnx_test::fill_uniform(*model, seed, -0.6, 0.6);
    rnnx::save_weights(*model, path(name));
    return model;
  }

  std::filesystem::path path(const std::string& name) const { return dir_ / name; }

  std::filesystem::path dir_;
};

std::vector<float> noise(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> xs(n);
  for (float& x : xs) x = dist(gen);
  return xs;
}

/// The outputs of stepping `model` over xs from `state`, sample by sample.
template <class Net>
std::vector<float> stepped(const Net& model, typename Net::state& state,
                           const std::vector<float>& xs) {
  std::vector<float> ys;
  for (float x : xs) ys.push_back(model.step(x, state)[0]);
  return ys;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::string message_of_load(amp_set& set, const std::filesystem::path& path) {
  try {
    set.load(path);
  } catch (const rnnx::weights_error& e) {
    return e.what();
  }
  return "(no exception)";
}

/// Loads Net's file through the set and checks the choice and the outputs, in two blocks (the
/// state continues across them) and after reset().
template <class Net>
void check_chosen_and_bit_exact(amp_set& set, const Net& model, const std::filesystem::path& file,
                                std::size_t expected_index) {
  SCOPED_TRACE(Net::description());
  set.load(file);
  ASSERT_TRUE(set.loaded());
  EXPECT_TRUE(set.holds<Net>());
  EXPECT_EQ(set.active(), expected_index);
  EXPECT_EQ(set.description(), Net::description() + " (float)");

  const std::vector<float> xs = noise(block_samples, 7 + static_cast<unsigned>(expected_index));
  auto state = model.initial_state();
  const std::vector<float> expected = stepped(model, state, xs);

  std::vector<float> ys(xs.size());
  const std::size_t half = xs.size() / 2;
  EXPECT_EQ(set.process(std::span(xs).first(half), std::span(ys).first(half)), half);
  EXPECT_EQ(set.process(std::span(xs).subspan(half), std::span(ys).subspan(half)),
            xs.size() - half);
  EXPECT_TRUE(same_bits(ys, expected));

  set.reset();
  std::vector<float> in_place = xs;  // in and out may be one buffer
  set.process(in_place, in_place);
  EXPECT_TRUE(same_bits(in_place, expected));

  // visit() hands over the concrete type, for block loops of the user's own.
  set.reset();
  bool saw_net = false;
  std::vector<float> visited;
  EXPECT_TRUE(set.visit([&](const auto& concrete, auto& s) {
    using Concrete = std::remove_cvref_t<decltype(concrete)>;
    saw_net = std::is_same_v<Concrete, Net>;
    visited = stepped(concrete, s, xs);
  }));
  EXPECT_TRUE(saw_net);
  EXPECT_TRUE(same_bits(visited, expected));
}

TEST_F(ModelSet, EachFileChoosesItsTypeAndMatchesTheConcreteModelBitForBit) {
  const auto a = saved_model<lstm8>("lstm8.json", 1);
  const auto b = saved_model<lstm16>("lstm16.json", 2);
  const auto c = saved_model<gru12>("gru12.json", 3);
  const auto d = saved_model<stacked>("stacked.json", 4);
  amp_set set;
  // In an order unlike the list's, so a choice that ignored the file would show.
  check_chosen_and_bit_exact(set, *c, path("gru12.json"), 2);
  check_chosen_and_bit_exact(set, *a, path("lstm8.json"), 0);
  check_chosen_and_bit_exact(set, *d, path("stacked.json"), 3);
  check_chosen_and_bit_exact(set, *b, path("lstm16.json"), 1);
}

TEST_F(ModelSet, LoadsFromTextAndParsedDocuments) {
  const auto model = saved_model<gru12>("gru12.json", 5);
  amp_set set;
  set.load_from_string(rnnx::weights_to_string(*model));
  EXPECT_TRUE(set.holds<gru12>());
  amp_set other;
  other.load_from_json(nlohmann::json::parse(rnnx::weights_to_string(*model)));
  EXPECT_TRUE(other.holds<gru12>());
}

TEST_F(ModelSet, NothingLoadedGivesSilence) {
  amp_set set;
  EXPECT_FALSE(set.loaded());
  EXPECT_EQ(set.active(), amp_set::none);
  EXPECT_EQ(set.description(), "no model loaded");
  std::vector<float> in(16, 0.5f), out(16, 3.0f);
  EXPECT_EQ(set.process(in, out), 0u);
  EXPECT_EQ(out, std::vector<float>(16, 0.0f));
  EXPECT_FALSE(set.visit([](const auto&, auto&) {}));
  set.reset();  // harmless
}

TEST_F(ModelSet, UnsupportedArchitectureIsNamedWithEverySupportedOne) {
  saved_model<lstm8>("lstm8.json", 6);
  saved_model<rnnx::network<rnnx::lstm<1, 80>, rnnx::dense<80, 1>>>("lstm80.json", 7);
  amp_set set;
  set.load(path("lstm8.json"));
  const std::string message = message_of_load(set, path("lstm80.json"));
  EXPECT_NE(message.find("lstm80.json"), std::string::npos) << message;
  EXPECT_NE(message.find("the file's architecture, lstm<1, 80> -> dense<80, 1, identity> "
                         "(float32), is not one this program was built for; it supports 4: "),
            std::string::npos)
      << message;
  for (const std::string& supported : amp_set::architectures())
    EXPECT_NE(message.find(supported), std::string::npos) << supported << " in " << message;
  EXPECT_NE(message.find("lstm<1, 8> -> gru<8, 6> -> dense<6, 1, identity> (float)"),
            std::string::npos)
      << message;
  // A failed load leaves the loaded model in place.
  EXPECT_TRUE(set.holds<lstm8>());
}

TEST_F(ModelSet, SameLayersOtherOptionsOrScalarAreOtherArchitectures) {
  amp_set set;
  // dense<12, 1, identity> after the gru: gru12's layers but for the activation.
  auto other_activation = std::make_unique<rnnx::network<rnnx::gru<1, 12>, rnnx::dense<12, 1>>>();
  EXPECT_THROW(set.load_from_string(rnnx::weights_to_string(*other_activation)),
               rnnx::weights_error);
  // A float64 file would be rounded by the float models.
  auto as_double =
      std::make_unique<rnnx::basic_network<double, rnnx::lstm<1, 8>, rnnx::dense<8, 1>>>();
  try {
    set.load_from_string(rnnx::weights_to_string(*as_double));
    ADD_FAILURE() << "a float64 file loaded into a float model";
  } catch (const rnnx::weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("lstm<1, 8> -> dense<8, 1, identity> (float64), is not"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(set.loaded());
}

TEST_F(ModelSet, FileDtypeChoosesBetweenFloatAndDoubleModels) {
  using float_net = rnnx::network<rnnx::lstm<1, 4>, rnnx::dense<4, 1>>;
  using double_net = rnnx::basic_network<double, rnnx::lstm<1, 4>, rnnx::dense<4, 1>>;
  const auto f = saved_model<float_net>("float.json", 8);
  const auto d = saved_model<double_net>("double.json", 9);
  rnnx::model_set<double_net, float_net> both;
  both.load(path("float.json"));
  EXPECT_TRUE(both.holds<float_net>());
  EXPECT_EQ(both.description(), "lstm<1, 4> -> dense<4, 1, identity> (float)");
  both.load(path("double.json"));
  EXPECT_TRUE(both.holds<double_net>());
  // A double model reads a float32 file exactly when the set has no float one.
  rnnx::model_set<double_net> only_double;
  only_double.load(path("float.json"));
  EXPECT_TRUE(only_double.holds<double_net>());
  // float buffers through a double model: each sample converted in and out.
  auto widened = std::make_unique<double_net>();
  rnnx::load_weights(*widened, path("float.json"));
  auto state = widened->initial_state();
  const std::vector<float> xs = noise(32, 10);
  std::vector<float> ys(xs.size());
  only_double.process(xs, ys);
  for (std::size_t i = 0; i < xs.size(); ++i)
    EXPECT_EQ(ys[i], static_cast<float>(widened->step(static_cast<double>(xs[i]), state)[0]));
}

TEST_F(ModelSet, MalformedFilesAreRefusedAndChangeNothing) {
  const auto model = saved_model<lstm16>("lstm16.json", 11);
  amp_set set;
  set.load(path("lstm16.json"));
  auto expect_error = [&](const std::string& text, const std::string& part) {
    try {
      set.load_from_string(text);
      ADD_FAILURE() << "loaded: " << text.substr(0, 80);
    } catch (const rnnx::weights_error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
    EXPECT_TRUE(set.holds<lstm16>());
  };
  expect_error("{\"format\": ", "rnnx::model_set::load: not valid JSON");
  expect_error("[1, 2]", "the document must be a JSON object");
  expect_error("{\"format\": \"other\"}", "field 'format' must be \"rnnx.weights\"");
  // The architecture matches, a parameter does not: the loader's message, not "unsupported".
  std::string text = rnnx::weights_to_string(*model);
  text.replace(text.find("\"weight_hh\""), 11, "\"weight_hx\"");
  expect_error(text, "layer 0 (lstm<1, 16>): parameter 'weight_hh' is missing");
  try {
    set.load(path("absent.json"));
    ADD_FAILURE() << "an absent file loaded";
  } catch (const rnnx::weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
  // The model still runs as before.
  const std::vector<float> xs = noise(16, 12);
  auto state = model->initial_state();
  std::vector<float> ys(xs.size());
  set.reset();
  set.process(xs, ys);
  EXPECT_TRUE(same_bits(ys, stepped(*model, state, xs)));
}

TEST_F(ModelSet, DescribesArchitectureAndDocumentArchitecture) {
  const auto model = saved_model<stacked>("stacked.json", 13);
  const nlohmann::json document = nlohmann::json::parse(rnnx::weights_to_string(*model));
  EXPECT_TRUE(rnnx::describes_architecture<stacked>(document));
  EXPECT_FALSE(rnnx::describes_architecture<lstm8>(document));  // fewer layers
  EXPECT_FALSE((rnnx::describes_architecture<
                rnnx::network<rnnx::lstm<1, 8>, rnnx::gru<8, 7>, rnnx::dense<7, 1>>>(document)));
  EXPECT_TRUE((rnnx::describes_architecture<
               rnnx::basic_network<double, rnnx::lstm<1, 8>, rnnx::gru<8, 6>, rnnx::dense<6, 1>>>(
      document)));
  EXPECT_EQ(rnnx::document_architecture(document),
            "lstm<1, 8> -> gru<8, 6> -> dense<6, 1, identity> (float32)");
  EXPECT_EQ(rnnx::document_architecture(document), stacked::description() + " (float32)");

  // Whatever the structure, no exception: just no match.
  for (const char* odd : {"null", "[]", "{\"format\": \"rnnx.weights\", \"version\": 1}",
                          "{\"format\": \"rnnx.weights\", \"version\": 1, \"dtype\": \"float32\", "
                          "\"layers\": [1, {\"type\": 3}, {\"type\": \"lstm\", \"input_size\": "
                          "\"1\", \"hidden_size\": -8}]}"}) {
    const nlohmann::json j = nlohmann::json::parse(odd);
    EXPECT_FALSE(rnnx::describes_architecture<stacked>(j)) << odd;
    EXPECT_NO_THROW(rnnx::document_architecture(j)) << odd;
  }
  EXPECT_EQ(rnnx::document_architecture(nlohmann::json::parse(
                "{\"dtype\": \"float32\", \"layers\": [1, {\"type\": \"lstm\", \"input_size\": "
                "\"1\", \"hidden_size\": -8, \"peep\": true}]}")),
            "? -> lstm<1, -8, peep=true> (float32)");
}

TEST_F(ModelSet, ProcessVisitResetAndMoveAllocateNothing) {
  saved_model<lstm16>("lstm16.json", 14);
  saved_model<stacked>("stacked.json", 15);
  const std::vector<float> xs = noise(64, 16);
  std::vector<float> ys(xs.size());
  for (const char* name : {"lstm16.json", "stacked.json"}) {
    amp_set set;
    rnnx_test::allocations = 0;
    rnnx_test::counting = true;
    set.load(path(name));
    rnnx_test::counting = false;
    ASSERT_GT(rnnx_test::allocations, 0) << "the counting operator new is not in effect";
    rnnx_test::allocations = 0;
    rnnx_test::counting = true;
    for (int block = 0; block < 20; ++block) {
      set.process(xs, ys);
      set.visit([&](const auto& model, auto& state) {
        for (float x : xs) ys[0] += model.step(x, state)[0];
      });
      set.reset();
    }
    // Handing a loaded set over (to the audio thread) moves a pointer: no allocation either.
    amp_set handed_over = std::move(set);
    handed_over.process(xs, ys);
    rnnx_test::counting = false;
    EXPECT_EQ(rnnx_test::allocations, 0) << name;
    EXPECT_TRUE(handed_over.loaded()) << name;
  }
}

}  // namespace
