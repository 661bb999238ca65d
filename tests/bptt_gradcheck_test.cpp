// Backprop through time against central finite differences (tests/gradcheck.hpp), in double,
// for every cell, activation, stacked models, batches and single steps.

#include "gradcheck.hpp"

namespace {

using namespace rnnx;
using rnnx_test::check_all_shapes;
using rnnx_test::check_gradients;
using rnnx_test::check_state_gradients;
using rnnx_test::model;

TEST(BpttGradcheck, Lstm) { check_all_shapes<model<lstm<3, 5>, dense<5, 2>>>(1); }
TEST(BpttGradcheck, LstmWiderThanARegister) {
  check_gradients<model<lstm<2, 11>, dense<11, 1>>>(9, 4, 2);
}
TEST(BpttGradcheck, PeepholeLstm) {
  check_all_shapes<model<peephole_lstm<3, 5>, dense<5, 2>>>(11);
  check_gradients<model<peephole_lstm<2, 11>, peephole_lstm<11, 3>>>(6, 3, 12);
}
TEST(BpttGradcheck, Gru) { check_all_shapes<model<gru<2, 6>, dense<6, 3>>>(3); }
TEST(BpttGradcheck, GruResetBefore) {
  check_all_shapes<model<gru_reset_before<2, 6>, dense<6, 3>>>(13);
  check_gradients<model<gru_reset_before<3, 11>, gru_reset_before<11, 2>>>(6, 3, 14);
}
TEST(BpttGradcheck, RnnTanh) { check_all_shapes<model<rnn<3, 7, rnnx::tanh>, dense<7, 2>>>(4); }
TEST(BpttGradcheck, RnnRelu) { check_all_shapes<model<rnn<2, 5, rnnx::relu>, dense<5, 1>>>(5); }
TEST(BpttGradcheck, DenseActivations) {
  check_all_shapes<
      model<dense<4, 6, rnnx::sigmoid>, dense<6, 5, rnnx::tanh>, dense<5, 3, rnnx::softmax>>>(6);
  check_all_shapes<model<dense<3, 9, rnnx::relu>, dense<9, 2, rnnx::identity>>>(7);
}
TEST(BpttGradcheck, ActivationLayer) {
  check_all_shapes<
      model<lstm<2, 4>, activation<4, rnnx::tanh>, dense<4, 3>, activation<3, rnnx::softmax>>>(8);
}
TEST(BpttGradcheck, Stacked) {
  check_all_shapes<model<lstm<2, 6>, gru<6, 5>, rnn<5, 4>, dense<4, 2, rnnx::sigmoid>>>(9);
}
TEST(BpttGradcheck, WideDenseHeadIsColumnMajor) {
  check_gradients<model<gru<3, 9>, dense<9, 17, rnnx::tanh>>>(2, 3, 10);
}

// Initial-state gradients, and final states feeding the loss (an encoder's final state
// initialising a decoder).
TEST(BpttGradcheck, StateGradientsOfEveryCell) {
  check_state_gradients<model<lstm<2, 5>, dense<5, 2>>>(5, 4, 71);
  check_state_gradients<model<peephole_lstm<3, 4>>>(2, 3, 72);
  check_state_gradients<model<gru<2, 6>, dense<6, 1>>>(5, 3, 73);
  check_state_gradients<model<gru_reset_before<3, 5>>>(2, 4, 74);
  check_state_gradients<model<rnn<2, 7, rnnx::tanh>, rnn<7, 3, rnnx::relu>>>(3, 5, 75);
  check_state_gradients<model<bidirectional<lstm<2, 3>>, layer_norm<6>, gru<6, 4>>>(5, 3, 76);
  check_state_gradients<model<lstm<2, 5>>>(1, 1, 77);
}

}  // namespace
