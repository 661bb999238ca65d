// A layer's description (io/layer_description.hpp) against the layer itself: at sizes chosen so
// that a wrong formula shows (distinct primes, gates > 1), every formula must give the
// instance's parameter shapes, input and output sizes, and the attributes must be the ones
// visit_attributes lists, with the instance's option among its choices. Then the schema
// rnnx-codegen reads (io/layer_schema.hpp) and the checks of describe(d) itself.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ratio>
#include <rnnx/io/layer_schema.hpp>
#include <rnnx/rnnx.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

// A cell a user declares, with its own C++ name and header.
struct scaled_equations {
  static constexpr std::string_view name = "scaled_rnn";
  static constexpr std::string_view cpp_template = "my::scaled_rnn";
  static constexpr std::string_view header = "my/scaled_rnn.hpp";
  static constexpr std::size_t gates = 1;
  static constexpr std::array<std::string_view, 1> vectors{"scale"};
  static constexpr auto equations() {
    using namespace rnnx::expr;
    return next(tanh(p<0> * (W<0> + U<0>)));
  }
};
template <std::size_t In, std::size_t H>
using scaled_rnn = rnnx::cell<scaled_equations, In, H>;

// The same name as a built-in, with other gates: a schema must refuse the pair.
struct fake_lstm_equations {
  static constexpr std::string_view name = "lstm";
  static constexpr std::size_t gates = 2;
  static constexpr auto equations() {
    using namespace rnnx::expr;
    return next(sigmoid(W<0> + U<0>) * tanh(W<1> + U<1>));
  }
};

template <class L>
class LayerDescription : public ::testing::Test {};

using Layers = ::testing::Types<
    rnnx::lstm<5, 7>, rnnx::gru<5, 7>, rnnx::rnn<5, 7, rnnx::relu>, rnnx::peephole_lstm<5, 7>,
    rnnx::gru_reset_before<5, 7>, rnnx::mgu<5, 7>, rnnx::cifg_lstm<5, 7>, rnnx::indrnn<5, 7>,
    rnnx::light_gru<5, 7>, scaled_rnn<5, 7>, rnnx::dense<5, 7, rnnx::elu>,
    rnnx::activation<11, rnnx::softmax>, rnnx::embedding<13, 7>, rnnx::layer_norm<11>,
    rnnx::prelu<11, 11>, rnnx::prelu<11, 1>, rnnx::dropout<11, std::ratio<1, 5>>,
    rnnx::bidirectional<rnnx::gru<5, 7>>, rnnx::bidirectional<rnnx::rnn<5, 7, rnnx::relu>>,
    rnnx::bidirectional<rnnx::peephole_lstm<5, 7>>>;
TYPED_TEST_SUITE(LayerDescription, Layers);

TYPED_TEST(LayerDescription, FormulasGiveTheLayersShapes) {
  using L = TypeParam;
  const rnnx::layer_description d = rnnx::describe_layer<L>();
  EXPECT_EQ(d.type, L::type_name);
  EXPECT_EQ(d.size_of(d.input), L::in_size);
  EXPECT_EQ(d.size_of(d.output), L::out_size);

  std::vector<std::pair<std::string, std::vector<std::size_t>>> visited;
  auto layer = std::make_unique<L>();
  layer->visit_parameters([&](std::string_view name, const auto& p) {
    using P = std::decay_t<decltype(p)>;
    visited.push_back({std::string(name), P::cols == 0
                                              ? std::vector<std::size_t>{P::rows}
                                              : std::vector<std::size_t>{P::rows, P::cols}});
  });
  ASSERT_EQ(d.parameters.size(), visited.size());
  for (std::size_t i = 0; i < visited.size(); ++i) {
    EXPECT_EQ(d.parameters[i].name, visited[i].first);
    std::vector<std::size_t> shape;
    for (const rnnx::size_formula& f : d.parameters[i].shape) shape.push_back(d.size_of(f));
    EXPECT_EQ(shape, visited[i].second) << visited[i].first;
  }
}

TYPED_TEST(LayerDescription, AttributesAreTheLayersFields) {
  using L = TypeParam;
  const rnnx::layer_description d = rnnx::describe_layer<L>();
  std::size_t i = 0;
  L::visit_attributes([&](std::string_view key, auto value) {
    ASSERT_LT(i, d.attributes.size());
    const rnnx::attribute_rule& rule = d.attributes[i++];
    EXPECT_EQ(rule.key, key);
    using kind = rnnx::attribute_rule::kind_type;
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
      EXPECT_NE(rule.kind, kind::size) << key;
      if (rule.kind == kind::option) {
        EXPECT_NE(std::find(rule.choices.begin(), rule.choices.end(), std::string_view(value)),
                  rule.choices.end())
            << key << " = " << std::string_view(value);
      }
    } else {
      EXPECT_EQ(rule.kind, kind::size) << key;
      if (!rule.one_or.empty()) {
        const rnnx::size_formula other{rule.one_or, 1};
        EXPECT_TRUE(std::size_t(value) == 1 || std::size_t(value) == d.size_of(other)) << key;
      }
    }
  });
  EXPECT_EQ(i, d.attributes.size());
}

TEST(LayerDescription, ACellSaysWhatDeclaresIt) {
  const rnnx::layer_description user = rnnx::describe_layer<scaled_rnn<2, 3>>();
  EXPECT_EQ(user.cpp_template, "my::scaled_rnn");
  EXPECT_EQ(user.header, "my/scaled_rnn.hpp");
  EXPECT_TRUE(user.is_cell);
  EXPECT_EQ(user.gate_names, "");
  const rnnx::layer_description lstm = rnnx::describe_layer<rnnx::lstm<2, 3>>();
  EXPECT_EQ(lstm.cpp_template, "rnnx::lstm");
  EXPECT_EQ(lstm.header, "rnnx/layers/lstm.hpp");
  EXPECT_EQ(lstm.gate_names, "i, f, g, o");
  EXPECT_FALSE((rnnx::describe_layer<rnnx::dense<2, 3>>().is_cell));
}

TEST(LayerSchema, ListsEachTypeOnceWithAWrappersCell) {
  const auto schema = nlohmann::json::parse(
      rnnx::layer_schema_text<rnnx::bidirectional<rnnx::mgu<2, 3>>, rnnx::mgu<4, 5>,
                              rnnx::dense<3, 1, rnnx::tanh>, rnnx::dense<9, 2, rnnx::relu>>());
  EXPECT_EQ(schema["format"], "rnnx.layers");
  EXPECT_EQ(schema["version"], 1);
  std::vector<std::string> types;
  for (const auto& entry : schema["layers"]) types.push_back(entry["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"bidirectional", "mgu", "dense"}));
  const auto& bi = schema["layers"][0];
  EXPECT_EQ(bi["wraps"]["key"], "cell");
  EXPECT_EQ(bi["wraps"]["reverse_suffix"], "_reverse");
  EXPECT_EQ(bi["wraps"]["output_factor"], 2);
  EXPECT_FALSE(bi.contains("parameters"));  // the cell's, read from its own entry
  const auto& mgu = schema["layers"][1];
  EXPECT_EQ(mgu["parameters"][0]["name"], "weight_ih");
  EXPECT_EQ(mgu["parameters"][0]["shape"][0],
            (nlohmann::json{{"attribute", "hidden_size"}, {"factor", 2}}));
  EXPECT_EQ(schema["layers"][2]["attributes"][2]["choices"].size(), 6u);
}

TEST(LayerSchema, RefusesTwoDescriptionsOfOneType) {
  EXPECT_THROW((rnnx::layer_schema_text<rnnx::lstm<1, 2>, rnnx::cell<fake_lstm_equations, 1, 2>>()),
               std::logic_error);
}

TEST(LayerSchema, SaveReplacesTheFileOrLeavesIt) {
  const std::string path = ::testing::TempDir() + "/rnnx_layer_schema_test.json";
  rnnx::save_layer_schema<scaled_rnn<1, 1>>(path);
  std::ifstream in(path);
  const auto schema = nlohmann::json::parse(in);
  EXPECT_EQ(schema["layers"][0]["cpp_template"], "my::scaled_rnn");
  try {
    rnnx::save_layer_schema<scaled_rnn<1, 1>>(::testing::TempDir() + "/no/such/dir/x.json");
    ADD_FAILURE() << "no error for a missing directory";
  } catch (const rnnx::weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/dir/x.json"), std::string::npos) << e.what();
  }
}

// A layer whose describe(d) names a field it does not have: a std::logic_error naming it.
struct misdescribed_layer : rnnx::activation<3, rnnx::tanh> {
  template <class D>
  static void describe(D& d) {
    d.input("width");
  }
};

TEST(LayerDescription, AFormulaMustNameAnAttribute) {
  try {
    (void)rnnx::describe_layer<misdescribed_layer>();
    ADD_FAILURE() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "describe(d) names no attribute 'width'");
  }
}

}  // namespace
