// Values whose printing is easy to get wrong (tests/codegen/data/edge_values_*.json): -0,
// subnormals, the limits of float and double, integers, and a decimal that rounds to a
// different float32 directly than through double (load_weights goes through double, and so
// must the generated header). Each generated value must equal load_weights' bit for bit.
#include <bit>
#include <cstdint>
#include <limits>

#include "edge_values_float32.hpp"
#include "edge_values_float64.hpp"
#include "generated_model_check.hpp"

namespace edge = codegen_test::edge;
using rnnx_codegen_test::read_json;

static_assert(
    std::is_same_v<edge::Float32Edges,
                   rnnx::network<rnnx::dense<3, 4, rnnx::sigmoid>, rnnx::activation<4, rnnx::relu>,
                                 rnnx::rnn<4, 2, rnnx::relu>, rnnx::dense<2, 3, rnnx::softmax>>>);
static_assert(
    std::is_same_v<edge::Float64Edges,
                   rnnx::basic_network<double, rnnx::gru<1, 1>, rnnx::activation<1, rnnx::tanh>,
                                       rnnx::dense<1, 1, rnnx::tanh>>>);

TEST(CodegenEdgeValues, Float32) {
  const auto& w = edge::Float32Edges_weights::layer0_weight;
  using limits = std::numeric_limits<float>;
  EXPECT_EQ(std::bit_cast<std::uint32_t>(w[0][1]), 0x80000000u);  // -0.0
  EXPECT_EQ(w[1][1], limits::denorm_min());
  EXPECT_EQ(w[1][2], limits::min());
  EXPECT_EQ(w[2][0], limits::max());
  EXPECT_EQ(w[2][1], limits::max());
  EXPECT_EQ(w[3][0], 16777216.0f);
  EXPECT_EQ(w[3][1], 1.0f);  // via double; directly to float32 it would be 1.00000012f
  EXPECT_EQ(w[3][2], -2.5e-40f);
  rnnx_codegen_test::check_against_loader(
      *edge::make_Float32Edges(), edge::fill_Float32Edges,
      read_json(RNNX_CODEGEN_DATA_DIR "/edge_values_float32.json"), "edge_values_float32");
}

TEST(CodegenEdgeValues, Float64) {
  const auto& w = edge::Float64Edges_weights::layer0_weight_ih;
  using limits = std::numeric_limits<double>;
  EXPECT_EQ(w[0][0], limits::denorm_min());
  EXPECT_EQ(std::bit_cast<std::uint64_t>(w[1][0]), 0x8000000000000000u);  // -0.0
  EXPECT_EQ(w[2][0], limits::max());
  EXPECT_EQ(edge::Float64Edges_weights::layer0_weight_hh[0][0], limits::min());
  EXPECT_EQ(edge::Float64Edges_weights::layer0_weight_hh[2][0], 1.2345678901234568e29);
  rnnx_codegen_test::check_against_loader(
      *edge::make_Float64Edges(), edge::fill_Float64Edges,
      read_json(RNNX_CODEGEN_DATA_DIR "/edge_values_float64.json"), "edge_values_float64");
}
