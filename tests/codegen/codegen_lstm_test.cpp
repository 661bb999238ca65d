// lstm<3, 33> -> dense<33, 2, tanh>, float: generated from
// tests/data/fixtures/lstm_3_33__dense_2_tanh.json (see CMakeLists.txt).
#include "generated_model_check.hpp"
#include "lstm_3_33__dense_2_tanh.hpp"  // first: the generated header is self-contained

static_assert(std::is_same_v<codegen_test::Lstm3x33,
                             rnnx::network<rnnx::lstm<3, 33>, rnnx::dense<33, 2, rnnx::tanh>>>);
static_assert(std::size(codegen_test::Lstm3x33_weights::layer0_weight_ih) == 4 * 33 &&
              std::size(codegen_test::Lstm3x33_weights::layer0_weight_ih[0]) == 3);

TEST(CodegenFixture, Lstm_3_33_Dense_2_Tanh) {
  rnnx_codegen_test::check_fixture_header(codegen_test::make_Lstm3x33(),
                                          codegen_test::fill_Lstm3x33, "lstm_3_33__dense_2_tanh",
                                          "lstm_3_33__dense_2_tanh");
}

TEST(CodegenFixture, RecordsTheSourceHash) {
  // sha256sum tests/data/fixtures/lstm_3_33__dense_2_tanh.json
  EXPECT_EQ(codegen_test::Lstm3x33_source_sha256, RNNX_LSTM_FIXTURE_SHA256);
}
