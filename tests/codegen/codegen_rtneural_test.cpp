// RTNeural model files (tests/data/rtneural, made by tests/data/make_rtneural_fixtures.py from
// PyTorch models), converted by codegen/import_rtneural.py and rnnx-codegen at build time: each
// must equal what load_weights reads from export_torch.py's export of the same module (Keras'
// layouts and gate orders undone exactly; a PyTorch-format state_dict's chain, stacked layers,
// missing biases and named activations inferred exactly) and reproduce PyTorch's outputs over
// 1000 steps.
#include "generated_model_check.hpp"
#include "rtneural_dense_elu_gru_prelu_dense_prelu_dense_elu.hpp"
#include "rtneural_dense_tanh_gru_lstm_dense_relu_dense_softmax.hpp"
#include "rtneural_torch_gru_gru2_dense.hpp"
#include "rtneural_torch_lstm_dense_tanh.hpp"
#include "rtneural_torch_no_bias_gru_relu_lstm_dense_softmax.hpp"

namespace keras = codegen_test::rtneural_dense_tanh_gru_lstm_dense_relu_dense_softmax;
namespace elu_prelu = codegen_test::rtneural_dense_elu_gru_prelu_dense_prelu_dense_elu;
namespace gru_stack = codegen_test::rtneural_torch_gru_gru2_dense;
namespace lstm_tanh = codegen_test::rtneural_torch_lstm_dense_tanh;
namespace no_bias = codegen_test::rtneural_torch_no_bias_gru_relu_lstm_dense_softmax;

static_assert(
    std::is_same_v<keras::FromRtneural,
                   rnnx::network<rnnx::dense<1, 8, rnnx::tanh>, rnnx::gru<8, 8>, rnnx::lstm<8, 6>,
                                 rnnx::dense<6, 4, rnnx::relu>, rnnx::dense<4, 3, rnnx::softmax>>>);
static_assert(std::is_same_v<elu_prelu::FromRtneural,
                             rnnx::network<rnnx::dense<1, 6, rnnx::elu>, rnnx::gru<6, 5>,
                                           rnnx::prelu<5, 5>, rnnx::dense<5, 4, rnnx::identity>,
                                           rnnx::prelu<4, 1>, rnnx::dense<4, 3, rnnx::elu>>>);
static_assert(std::is_same_v<gru_stack::FromRtneural,
                             rnnx::network<rnnx::gru<1, 8>, rnnx::gru<8, 8>, rnnx::gru<8, 8>,
                                           rnnx::dense<8, 1, rnnx::identity>>>);
static_assert(std::is_same_v<lstm_tanh::FromRtneural,
                             rnnx::network<rnnx::lstm<2, 8>, rnnx::dense<8, 3, rnnx::tanh>>>);
static_assert(
    std::is_same_v<no_bias::FromRtneural,
                   rnnx::network<rnnx::gru<1, 6>, rnnx::activation<6, rnnx::relu>, rnnx::lstm<6, 4>,
                                 rnnx::lstm<4, 4>, rnnx::dense<4, 2, rnnx::softmax>>>);

TEST(CodegenRtneural, DenseGruLstmDense) {
  rnnx_codegen_test::check_fixture_header(keras::make_FromRtneural(), keras::fill_FromRtneural,
                                          "rtneural_dense_tanh_gru_lstm_dense_relu_dense_softmax",
                                          "rtneural_dense_tanh_gru_lstm_dense_relu_dense_softmax");
}

// elu after a dense layer, prelu with a slope per feature and with one for the layer.
TEST(CodegenRtneural, EluAndPRelu) {
  rnnx_codegen_test::check_fixture_header(elu_prelu::make_FromRtneural(),
                                          elu_prelu::fill_FromRtneural,
                                          "rtneural_dense_elu_gru_prelu_dense_prelu_dense_elu",
                                          "rtneural_dense_elu_gru_prelu_dense_prelu_dense_elu");
}

TEST(CodegenRtneural, PytorchFormatGruStackDense) {
  rnnx_codegen_test::check_fixture_header(
      gru_stack::make_FromRtneural(), gru_stack::fill_FromRtneural, "rtneural_torch_gru_gru2_dense",
      "rtneural_torch_gru_gru2_dense");
}

TEST(CodegenRtneural, PytorchFormatLstmDenseWithNamedActivation) {
  rnnx_codegen_test::check_fixture_header(
      lstm_tanh::make_FromRtneural(), lstm_tanh::fill_FromRtneural,
      "rtneural_torch_lstm_dense_tanh", "rtneural_torch_lstm_dense_tanh");
}

TEST(CodegenRtneural, PytorchFormatWithoutBiases) {
  rnnx_codegen_test::check_fixture_header(no_bias::make_FromRtneural(), no_bias::fill_FromRtneural,
                                          "rtneural_torch_no_bias_gru_relu_lstm_dense_softmax",
                                          "rtneural_torch_no_bias_gru_relu_lstm_dense_softmax");
}
