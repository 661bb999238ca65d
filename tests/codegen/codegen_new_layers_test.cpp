// embedding<12, 6> -> peephole_lstm<6, 5> -> dropout<5, 1/5> -> layer_norm<5> ->
// dense<5, 12, softmax>: every layer type without a PyTorch fixture, generated from
// tests/codegen/data/new_layers_float32.json as float and (--scalar double) as double. Each must
// equal what load_weights reads from the same file, bit for bit.
#include <ratio>

#include "generated_model_check.hpp"
#include "new_layers_float32.hpp"
#include "new_layers_float32_as_double.hpp"

namespace nl = codegen_test::new_layers;
using rnnx_codegen_test::read_json;

static_assert(std::is_same_v<nl::NewLayers,
                             rnnx::network<rnnx::embedding<12, 6>, rnnx::peephole_lstm<6, 5>,
                                           rnnx::dropout<5, std::ratio<1, 5>>, rnnx::layer_norm<5>,
                                           rnnx::dense<5, 12, rnnx::softmax>>>);
static_assert(
    std::is_same_v<nl::NewLayersDouble,
                   rnnx::basic_network<double, rnnx::embedding<12, 6>, rnnx::peephole_lstm<6, 5>,
                                       rnnx::dropout<5, std::ratio<1, 5>>, rnnx::layer_norm<5>,
                                       rnnx::dense<5, 12, rnnx::softmax>>>);

TEST(CodegenNewLayers, EqualsLoadWeights) {
  const auto document = read_json(RNNX_CODEGEN_DATA_DIR "/new_layers_float32.json");
  const auto generated = nl::make_NewLayers();
  rnnx_codegen_test::check_against_loader(*generated, nl::fill_NewLayers, document,
                                          "new_layers_float32");
  EXPECT_EQ(nl::NewLayers_weights::layer1_weight_co[4],
            static_cast<float>(
                document.at("layers").at(1).at("parameters").at("weight_co").at(4).get<double>()));
  // Token ids in, probabilities out.
  auto state = generated->initial_state();
  float sum = 0;
  for (const float p : generated->step(rnnx::token{7}, state)) sum += p;
  EXPECT_NEAR(sum, 1.0f, 1e-6f);
}

TEST(CodegenNewLayers, AsDoubleEqualsLoadWeights) {
  rnnx_codegen_test::check_against_loader(
      *nl::make_NewLayersDouble(), nl::fill_NewLayersDouble,
      read_json(RNNX_CODEGEN_DATA_DIR "/new_layers_float32.json"), "new_layers_float32_as_double");
}
