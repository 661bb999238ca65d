// gru<3, 11> -> rnn<11, 6, tanh> -> dense<6, 2>, double, generated without --namespace from
// tests/data/fixtures/double_gru_3_11__rnn_tanh_6__dense_2.json: PyTorch's outputs to 1e-10.
#include "double_gru_3_11__rnn_tanh_6__dense_2.hpp"
#include "generated_model_check.hpp"

static_assert(
    std::is_same_v<DoubleGruRnn,
                   rnnx::basic_network<double, rnnx::gru<3, 11>, rnnx::rnn<11, 6, rnnx::tanh>,
                                       rnnx::dense<6, 2, rnnx::identity>>>);

TEST(CodegenFixture, Double_Gru_3_11_RnnTanh_6_Dense_2) {
  rnnx_codegen_test::check_fixture_header(make_DoubleGruRnn(), fill_DoubleGruRnn,
                                          "double_gru_3_11__rnn_tanh_6__dense_2",
                                          "double_gru_3_11__rnn_tanh_6__dense_2");
}
