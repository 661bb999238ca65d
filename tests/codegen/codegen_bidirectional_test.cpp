// gru_reset_before<3, 5> -> bidirectional<lstm<5, 4>> -> bidirectional<gru_reset_before<8, 3>>
// -> bidirectional<rnn<6, 2, relu>> -> bidirectional<peephole_lstm<4, 3>> ->
// bidirectional<gru<6, 2>> -> dense<4, 2, tanh>: every cell bidirectional takes, generated from
// tests/codegen/data/bidirectional_float32.json as float and (--scalar double) as double. Each
// must equal what load_weights reads from the same file, bit for bit. The network has no
// streaming step, so the generated code and these tests run whole sequences only.
#include <random>

#include "bidirectional_float32.hpp"
#include "bidirectional_float32_as_double.hpp"
#include "generated_model_check.hpp"

namespace bd = codegen_test::bidirectional;
using rnnx_codegen_test::read_json;

template <class T>
using expected_type =
    rnnx::basic_network<T, rnnx::gru_reset_before<3, 5>, rnnx::bidirectional<rnnx::lstm<5, 4>>,
                        rnnx::bidirectional<rnnx::gru_reset_before<8, 3>>,
                        rnnx::bidirectional<rnnx::rnn<6, 2, rnnx::relu>>,
                        rnnx::bidirectional<rnnx::peephole_lstm<4, 3>>,
                        rnnx::bidirectional<rnnx::gru<6, 2>>, rnnx::dense<4, 2, rnnx::tanh>>;
static_assert(std::is_same_v<bd::Bidirectional, expected_type<float>>);
static_assert(std::is_same_v<bd::BidirectionalDouble, expected_type<double>>);
static_assert(!bd::Bidirectional::streaming);

namespace {

/// forward() of the generated model equals forward() of the loaded one, bit for bit.
template <class Net>
void check_forward(const Net& generated, const nlohmann::json& document) {
  using T = typename Net::scalar;
  auto loaded = std::make_unique<Net>();
  rnnx::load_weights_from_json(*loaded, document);
  xt::xtensor<T, 2> xs = xt::xtensor<T, 2>::from_shape({23, Net::in_size});
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> dist(-1, 1);
  for (auto& v : xs) v = T(dist(gen));
  const xt::xtensor<T, 2> ys = generated.forward(xs);
  const xt::xtensor<T, 2> expected = loaded->forward(xs);
  ASSERT_EQ(ys.shape(0), 23u);
  ASSERT_EQ(ys.shape(1), 2u);
  EXPECT_TRUE(ys == expected);
  EXPECT_GT(xt::amax(xt::abs(ys))(), T(0));
}

}  // namespace

TEST(CodegenBidirectional, EqualsLoadWeights) {
  const auto document = read_json(RNNX_CODEGEN_DATA_DIR "/bidirectional_float32.json");
  const auto generated = bd::make_Bidirectional();
  rnnx_codegen_test::check_against_loader(*generated, bd::fill_Bidirectional, document,
                                          "bidirectional_float32");
  EXPECT_EQ(
      bd::Bidirectional_weights::layer5_bias_hh_reverse[5],
      static_cast<float>(
          document.at("layers").at(5).at("parameters").at("bias_hh_reverse").at(5).get<double>()));
  check_forward(*generated, document);
}

TEST(CodegenBidirectional, AsDoubleEqualsLoadWeights) {
  const auto document = read_json(RNNX_CODEGEN_DATA_DIR "/bidirectional_float32.json");
  const auto generated = bd::make_BidirectionalDouble();
  rnnx_codegen_test::check_against_loader(*generated, bd::fill_BidirectionalDouble, document,
                                          "bidirectional_float32_as_double");
  check_forward(*generated, document);
}
