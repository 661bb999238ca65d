// Double models against PyTorch's float64 outputs: agreement to 1e-10.
#include "fixture_support.hpp"

using namespace rnnx;
using rnnx_test::check_fixture;

TEST(FixtureDouble, Lstm_1_20_Dense_1) {
  check_fixture<basic_network<double, lstm<1, 20>, dense<20, 1>>>("double_lstm_1_20__dense_1");
}

TEST(FixtureDouble, Gru_3_11_RnnTanh_6_Dense_2) {
  check_fixture<basic_network<double, gru<3, 11>, rnn<11, 6>, dense<6, 2>>>(
      "double_gru_3_11__rnn_tanh_6__dense_2");
}
