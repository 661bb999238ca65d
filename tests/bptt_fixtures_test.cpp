// Gradients against PyTorch autograd (tests/data/fixtures/grad_*.json): loss, outputs, every
// parameter gradient and the input gradient, within 1e-4 (float) / 1e-9 (double) of each
// tensor's largest value.

#include "training_support.hpp"

namespace {

using namespace rnnx;
using rnnx_test::read_fixture;
using rnnx_test::relative_error;
using rnnx_test::to_tensor3;

template <class Net>
void check_gradient_fixture(const std::string& name) {
  using T = typename Net::scalar;
  const double tolerance = std::is_same_v<T, float> ? 1e-4 : 1e-9;
  const nlohmann::json fixture = read_fixture(name);
  auto model = std::make_unique<Net>();
  load_weights_from_json(*model, fixture.at("model"), name);

  // The expected gradients, read as a model: the weights document with each layer's
  // parameters replaced by their gradients.
  nlohmann::json grads_doc = fixture.at("model");
  const nlohmann::json& grads_json = fixture.at("grads");
  ASSERT_EQ(grads_json.size(), grads_doc.at("layers").size()) << name;
  for (std::size_t k = 0; k < grads_json.size(); ++k)
    if (grads_doc["layers"][k].contains("parameters"))
      grads_doc["layers"][k]["parameters"] = grads_json[k].at("parameters");
  auto expected = std::make_unique<Net>();
  load_weights_from_json(*expected, grads_doc, name + " (grads)");

  const auto xs = to_tensor3<T>(fixture.at("input"));
  tape<Net> tp;
  const xt::xtensor<T, 3> ys = tp.forward(*model, xs);
  const auto expected_ys = to_tensor3<T>(fixture.at("output"));
  const double output_error =
      relative_error<T>({ys.data(), ys.size()}, {expected_ys.data(), expected_ys.size()});
  EXPECT_LE(output_error, tolerance) << name << ": outputs";

  xt::xtensor<T, 3> dys;
  const T loss = rnnx_test::fixture_loss(fixture, ys, dys);
  const double expected_loss = fixture.at("loss_value").get<double>();
  EXPECT_NEAR(loss, expected_loss, tolerance * std::abs(expected_loss)) << name << ": loss";

  auto grads = std::make_unique<Net>();
  const xt::xtensor<T, 3> dxs = tp.backward(*model, dys, *grads);
  double worst = 0;
  for_each_parameter(
      [&](std::size_t layer, std::string_view param, std::span<const T> actual,
          std::span<const T> wanted) {
        const double error = relative_error(actual, wanted);
        worst = std::max(worst, error);
        EXPECT_LE(error, tolerance) << name << ": layer " << layer << " " << param;
      },
      std::as_const(*grads), std::as_const(*expected));
  const auto expected_dxs = to_tensor3<T>(fixture.at("input_grad"));
  const double input_error =
      relative_error<T>({dxs.data(), dxs.size()}, {expected_dxs.data(), expected_dxs.size()});
  EXPECT_LE(input_error, tolerance) << name << ": input gradient";
  std::cout << "[ gradient ] " << name << ": parameters " << worst << ", inputs " << input_error
            << " (relative to each tensor's largest value)\n";
}

template <class... Layers>
using float_model = network<Layers...>;
template <class... Layers>
using double_model = basic_network<double, Layers...>;

TEST(GradientFixture, Lstm) {
  check_gradient_fixture<float_model<lstm<1, 8>, dense<8, 1>>>("grad_lstm_1_8__dense_1__mse_b1_t7");
  check_gradient_fixture<float_model<lstm<3, 13>, dense<13, 2, rnnx::tanh>>>(
      "grad_lstm_3_13__dense_2_tanh__mse_last_b4_t50");
  check_gradient_fixture<float_model<lstm<1, 4>, activation<4, rnnx::tanh>>>(
      "grad_lstm_1_4__tanh__mse_b1_t50");
  check_gradient_fixture<float_model<lstm<4, 33>, dense<33, 5>>>(
      "grad_lstm_4_33__dense_5__ce_last_b4_t7");
}

TEST(GradientFixture, Gru) {
  check_gradient_fixture<float_model<gru<2, 7>, dense<7, 3>>>("grad_gru_2_7__dense_3__ce_b4_t7");
  check_gradient_fixture<float_model<gru<2, 7>, activation<7, rnnx::relu>, dense<7, 2>>>(
      "grad_gru_2_7__relu__dense_2__bce_b4_t7");
}

TEST(GradientFixture, Rnn) {
  check_gradient_fixture<float_model<rnn<4, 9>, dense<9, 1, rnnx::sigmoid>>>(
      "grad_rnn_tanh_4_9__dense_1_sigmoid__mse_b4_t7");
  check_gradient_fixture<float_model<rnn<2, 9, rnnx::relu>, dense<9, 2>>>(
      "grad_rnn_relu_2_9__dense_2__bce_b4_t50");
  check_gradient_fixture<float_model<rnn<3, 13, rnnx::relu>, dense<13, 1>>>(
      "grad_rnn_relu_3_13__dense_1__mse_last_b1_t1");
}

TEST(GradientFixture, Dense) {
  check_gradient_fixture<float_model<dense<5, 6, rnnx::relu>, dense<6, 2>>>(
      "grad_dense_5_6_relu__dense_2__mse_b4_t1");
  check_gradient_fixture<float_model<dense<4, 5, rnnx::tanh>, dense<5, 3, rnnx::softmax>>>(
      "grad_dense_4_5_tanh__dense_3_softmax__mse_b1_t7");
}

TEST(GradientFixture, DoubleStacked) {
  check_gradient_fixture<double_model<lstm<2, 13>, gru<13, 7>, dense<7, 2>>>(
      "grad_double_stack_lstm_2_13__gru_7__dense_2__mse_b4_t50");
  check_gradient_fixture<double_model<lstm<2, 5>, lstm<5, 5>, dense<5, 1>>>(
      "grad_double_lstm2layer_2_5__dense_1__mse_last_b4_t50");
  check_gradient_fixture<double_model<gru<3, 33>, rnn<33, 6>, dense<6, 2>>>(
      "grad_double_gru_3_33__rnn_tanh_6__dense_2__bce_b1_t50");
  check_gradient_fixture<double_model<rnn<2, 7, rnnx::relu>, dense<7, 4>>>(
      "grad_double_rnn_relu_2_7__dense_4__ce_b4_t50");
}

// Token ids in: rnnx reads the fixture's ids as values; no gradient reaches them (the fixture's
// input gradient is zero, and so must rnnx's be).
TEST(GradientFixture, EmbeddingGru) {
  check_gradient_fixture<float_model<embedding<11, 6>, gru<6, 7>, dense<7, 11>>>(
      "grad_embedding_11_6__gru_7__dense_11__ce_b4_t7");
}

TEST(GradientFixture, LstmLayerNorm) {
  check_gradient_fixture<float_model<lstm<3, 9>, layer_norm<9>, dense<9, 2>>>(
      "grad_lstm_3_9__layer_norm__dense_2__mse_b4_t7");
  check_gradient_fixture<double_model<lstm<2, 8>, layer_norm<8>, dense<8, 3>>>(
      "grad_double_lstm_2_8__layer_norm__dense_3__mse_b4_t50");
}

TEST(GradientFixture, PReluAndElu) {
  check_gradient_fixture<
      float_model<lstm<3, 7>, prelu<7>, dense<7, 4, rnnx::elu>, prelu<4, 4>, dense<4, 2>>>(
      "grad_lstm_3_7__prelu__dense_4_elu__prelu_4__dense_2__mse_b4_t7");
  check_gradient_fixture<
      double_model<gru<2, 6>, prelu<6, 6>, activation<6, rnnx::elu>, dense<6, 3>>>(
      "grad_double_gru_2_6__prelu_6__elu__dense_3__mse_b3_t20");
}

// nn.LSTM/GRU(bidirectional=True): one bidirectional layer per PyTorch layer.
TEST(GradientFixture, Bidirectional) {
  check_gradient_fixture<
      double_model<bidirectional<lstm<2, 5>>, bidirectional<lstm<10, 5>>, dense<10, 2>>>(
      "grad_double_bilstm2layer_2_5__dense_2__mse_b4_t50");
  check_gradient_fixture<float_model<bidirectional<gru<3, 6>>, dense<12, 3>>>(
      "grad_bigru_3_6__dense_3__ce_last_b4_t7");
}

// Cells declared as equations that torch.nn lacks, against the PyTorch modules written from
// the same equations in tests/data/reference_cells.py; two stacked, so dL/dx is checked too.
TEST(GradientFixture, DeclaredCells) {
  check_gradient_fixture<double_model<mgu<3, 9>, mgu<9, 5>, dense<5, 2>>>(
      "grad_double_mgu_3_9__mgu_5__dense_2__mse_b3_t20");
  check_gradient_fixture<double_model<gru_reset_before<2, 8>, gru_reset_before<8, 6>, dense<6, 2>>>(
      "grad_double_gru_reset_before_2_8__gru_reset_before_6__dense_2__mse_b3_t20");
  check_gradient_fixture<double_model<cifg_lstm<3, 7>, cifg_lstm<7, 5>, dense<5, 2>>>(
      "grad_double_cifg_lstm_3_7__cifg_lstm_5__dense_2__mse_b3_t20");
  check_gradient_fixture<double_model<light_gru<3, 7>, light_gru<7, 5>, dense<5, 2>>>(
      "grad_double_light_gru_3_7__light_gru_5__dense_2__mse_b3_t20");
  check_gradient_fixture<double_model<indrnn<3, 7>, indrnn<7, 5>, dense<5, 2>>>(
      "grad_double_indrnn_3_7__indrnn_5__dense_2__mse_b3_t20");
  check_gradient_fixture<float_model<mgu<2, 16>, dense<16, 1>>>(
      "grad_mgu_2_16__dense_1__mse_b4_t30");
}

}  // namespace
