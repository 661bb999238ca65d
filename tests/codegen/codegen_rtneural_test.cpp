// An RTNeural model file (tests/data/rtneural, made by tests/data/make_rtneural_fixtures.py from
// a PyTorch model), converted by codegen/import_rtneural.py and rnnx-codegen at build time: it
// must equal what load_weights reads from export_torch.py's export of the same module (Keras'
// layouts and gate orders undone exactly) and reproduce PyTorch's outputs over 1000 steps.
#include "generated_model_check.hpp"
#include "rtneural_dense_tanh_gru_lstm_dense_relu_dense_softmax.hpp"

namespace rt = codegen_test::rtneural;

static_assert(
    std::is_same_v<rt::FromRtneural,
                   rnnx::network<rnnx::dense<1, 8, rnnx::tanh>, rnnx::gru<8, 8>, rnnx::lstm<8, 6>,
                                 rnnx::dense<6, 4, rnnx::relu>, rnnx::dense<4, 3, rnnx::softmax>>>);

TEST(CodegenRtneural, DenseGruLstmDense) {
  rnnx_codegen_test::check_fixture_header(rt::make_FromRtneural(), rt::fill_FromRtneural,
                                          "rtneural_dense_tanh_gru_lstm_dense_relu_dense_softmax",
                                          "rtneural_dense_tanh_gru_lstm_dense_relu_dense_softmax");
}
