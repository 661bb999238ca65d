// lstm<2, 16> -> gru<16, 12> -> dense<12, 4, relu> -> dense<4, 1>, float, generated from
// tests/data/fixtures/stack_lstm_gru_dense.json.
#include "generated_model_check.hpp"
#include "stack_lstm_gru_dense.hpp"

static_assert(std::is_same_v<codegen_test::Stack,
                             rnnx::network<rnnx::lstm<2, 16>, rnnx::gru<16, 12>,
                                           rnnx::dense<12, 4, rnnx::relu>, rnnx::dense<4, 1>>>);

TEST(CodegenFixture, StackLstmGruDense) {
  rnnx_codegen_test::check_fixture_header(codegen_test::make_Stack(), codegen_test::fill_Stack,
                                          "stack_lstm_gru_dense", "stack_lstm_gru_dense");
}

TEST(CodegenFixture, FillNeedsNoHeap) {
  static codegen_test::Stack model;  // e.g. a plug-in's static model: no allocation at all
  codegen_test::fill_Stack(model);
  EXPECT_TRUE(model == *codegen_test::make_Stack());
}
