// ONNX files written by torch.onnx.export (tests/data/onnx, made by
// tests/data/make_onnx_fixtures.py), converted by codegen/import_onnx.py and rnnx-codegen at
// build time: each model must equal what load_weights reads from export_torch.py's export of the
// same PyTorch module (so ONNX's gate orders were undone exactly) and reproduce PyTorch's
// outputs over 1000 steps.
#include "generated_model_check.hpp"
#include "onnx_gemm_4_8_relu__dense_2_sigmoid.hpp"
#include "onnx_lstm_3_10__dense_2.hpp"
#include "onnx_stack_batch_first.hpp"

namespace onnx = codegen_test::onnx;

static_assert(std::is_same_v<
              onnx::Stack, rnnx::network<rnnx::lstm<2, 8>, rnnx::lstm<8, 8>, rnnx::gru<8, 6>,
                                         rnnx::rnn<6, 5, rnnx::relu>, rnnx::dense<5, 3, rnnx::tanh>,
                                         rnnx::activation<3, rnnx::softmax>>>);
static_assert(std::is_same_v<onnx::Lstm, rnnx::network<rnnx::lstm<3, 10>, rnnx::dense<10, 2>>>);
static_assert(
    std::is_same_v<onnx::Gemm,
                   rnnx::network<rnnx::dense<4, 8, rnnx::relu>, rnnx::dense<8, 2, rnnx::sigmoid>>>);

TEST(CodegenOnnx, StackBatchFirst) {
  rnnx_codegen_test::check_fixture_header(onnx::make_Stack(), onnx::fill_Stack,
                                          "onnx_stack_batch_first", "onnx_stack_batch_first");
}

TEST(CodegenOnnx, LstmTimeMajor) {
  rnnx_codegen_test::check_fixture_header(onnx::make_Lstm(), onnx::fill_Lstm,
                                          "onnx_lstm_3_10__dense_2", "onnx_lstm_3_10__dense_2");
}

TEST(CodegenOnnx, GemmRows) {
  rnnx_codegen_test::check_fixture_header(onnx::make_Gemm(), onnx::fill_Gemm,
                                          "onnx_gemm_4_8_relu__dense_2_sigmoid",
                                          "onnx_gemm_4_8_relu__dense_2_sigmoid");
}
