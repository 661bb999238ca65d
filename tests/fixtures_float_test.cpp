// Float models against PyTorch's recorded outputs (tests/data/make_fixtures.py).
#include <ratio>

#include "fixture_support.hpp"

using namespace rnnx;
using rnnx_test::check_fixture;

TEST(FixtureFloat, Lstm_1_8_Dense_1) {
  check_fixture<network<lstm<1, 8>, dense<8, 1>>>("lstm_1_8__dense_1");
}

TEST(FixtureFloat, Lstm_3_33_Dense_2_Tanh) {
  check_fixture<network<lstm<3, 33>, dense<33, 2, rnnx::tanh>>>("lstm_3_33__dense_2_tanh");
}

TEST(FixtureFloat, Gru_2_7_Dense_3_Softmax) {
  check_fixture<network<gru<2, 7>, dense<7, 3, softmax>>>("gru_2_7__dense_3_softmax");
}

TEST(FixtureFloat, RnnTanh_4_17_Dense_1) {
  check_fixture<network<rnn<4, 17>, dense<17, 1>>>("rnn_tanh_4_17__dense_1");
}

TEST(FixtureFloat, RnnRelu_2_9_Dense_1_Sigmoid) {
  check_fixture<network<rnn<2, 9, relu>, dense<9, 1, sigmoid>>>("rnn_relu_2_9__dense_1_sigmoid");
}

TEST(FixtureFloat, StackLstmGruDense) {
  check_fixture<network<lstm<2, 16>, gru<16, 12>, dense<12, 4, relu>, dense<4, 1>>>(
      "stack_lstm_gru_dense");
}

TEST(FixtureFloat, TwoLayerLstm) {
  check_fixture<network<lstm<2, 5>, lstm<5, 5>, dense<5, 1>>>("lstm2layer_2_5__dense_1");
}

TEST(FixtureFloat, GruWithoutBias) {
  check_fixture<network<gru<1, 16>, dense<16, 1>>>("gru_nobias_1_16__dense_1");
}

TEST(FixtureFloat, LstmThenTanhActivation) {
  check_fixture<network<lstm<1, 4>, activation<4, rnnx::tanh>>>("lstm_tanh_act_1_4");
}

TEST(FixtureFloat, DenseOnly) {
  check_fixture<network<dense<5, 6, sigmoid>, dense<6, 2>>>("dense_5_6_sigmoid__dense_2");
}

TEST(FixtureFloat, Lstm_1_128_Dense_1) {
  check_fixture<network<lstm<1, 128>, dense<128, 1>>>("lstm_1_128__dense_1");
}

// nn.Dropout in eval mode is the identity; nn.LayerNorm with random weight and bias.
TEST(FixtureFloat, LstmLayerNormDropoutDense) {
  check_fixture<network<lstm<3, 10>, layer_norm<10>, dropout<10, std::ratio<1, 5>>, dense<10, 2>>>(
      "lstm_3_10__layer_norm__dropout__dense_2");
}

// nn.PReLU() (one slope), nn.ELU() after a Linear, nn.PReLU(3) over each step's features.
TEST(FixtureFloat, GruPReluDenseEluPRelu) {
  check_fixture<network<gru<2, 6>, prelu<6>, dense<6, 3, rnnx::elu>, prelu<3, 3>>>(
      "gru_2_6__prelu__dense_3_elu__prelu_3");
}
