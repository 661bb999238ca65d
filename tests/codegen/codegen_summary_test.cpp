// rnnx::summary<Model>(): the layer table, with logical sizes checked by hand and the padded
// storage against the parameters' actual storage.
#include <gtest/gtest.h>

#include <rnnx/rnnx.hpp>
#include <string>

using namespace rnnx;

namespace {

/// What a parameter of rows x cols (cols 0: a vector) occupies once padded, as summary counts
/// it: the actual size of the storage member.
template <class Net>
std::size_t storage_of_layer(std::size_t index) {
  const auto model = std::make_unique<Net>();
  std::size_t bytes = 0;
  model->for_each_layer([&](auto i, const auto& layer) {
    if (i == index)
      layer.visit_parameters([&](std::string_view, const auto& p) { bytes += sizeof(p.data); });
  });
  return bytes;
}

}  // namespace

TEST(CodegenSummary, LstmDense) {
  using Net = network<lstm<3, 33>, dense<33, 2, rnnx::tanh>>;
  const auto rows = layer_summaries<Net>();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "lstm<3, 33>");
  EXPECT_EQ(rows[0].output_size, 33u);
  EXPECT_EQ(rows[0].parameters, 4u * 33 * 3 + 4 * 33 * 33 + 2 * 4 * 33);  // 5,016
  EXPECT_EQ(rows[0].bytes, rows[0].parameters * 4);
  EXPECT_EQ(rows[1].name, "dense<33, 2, tanh>");
  EXPECT_EQ(rows[1].parameters, 2u * 33 + 2);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].index, i);
    EXPECT_EQ(rows[i].storage_bytes, storage_of_layer<Net>(i));
    EXPECT_GE(rows[i].storage_bytes, rows[i].bytes);
  }
  const std::size_t storage = rows[0].storage_bytes + rows[1].storage_bytes;
  auto column = [](std::size_t n, std::size_t width) {
    std::string text = detail::with_thousands(n);
    return std::string(width - text.size(), ' ') + text;
  };
  const std::size_t width = std::max<std::size_t>(7, detail::with_thousands(storage).size());
  const std::string expected =
      "network: lstm<3, 33> -> dense<33, 2, tanh> (float)\n"
      "#  layer               output  parameters   bytes  " +
      std::string(width - 7, ' ') +
      "storage\n"
      "0  lstm<3, 33>             33       5,016  20,064  " +
      column(rows[0].storage_bytes, width) +
      "\n"
      "1  dense<33, 2, tanh>       2          68     272  " +
      column(rows[1].storage_bytes, width) +
      "\n"
      "   total                            5,084  20,336  " +
      column(storage, width) +
      "\n"
      "input 3, output 2; model object " +
      detail::with_thousands(sizeof(Net)) + " bytes; state " +
      detail::with_thousands(sizeof(Net::state)) + " bytes per stream\n";
  EXPECT_EQ(summary<Net>(), expected);
  EXPECT_EQ(summary(*std::make_unique<Net>()), expected);
}

TEST(CodegenSummary, DoubleStackWithActivation) {
  using Net =
      basic_network<double, gru<3, 11>, rnn<11, 6, relu>, dense<6, 2>, activation<2, softmax>>;
  const auto rows = layer_summaries<Net>();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].name, "rnn<11, 6, relu>");
  EXPECT_EQ(rows[1].parameters, 6u * 11 + 6 * 6 + 2 * 6);
  EXPECT_EQ(rows[1].bytes, rows[1].parameters * 8);
  EXPECT_EQ(rows[3].name, "activation<2, softmax>");
  EXPECT_EQ(rows[3].parameters, 0u);
  EXPECT_EQ(rows[3].storage_bytes, 0u);
  const std::string text = summary<Net>();
  EXPECT_EQ(text.rfind("network: gru<3, 11> -> rnn<11, 6, relu> -> dense<6, 2, identity> -> "
                       "activation<2, softmax> (double)\n",
                       0),
            0u);
  EXPECT_NE(text.find("\n   total                                  "
                      "656  5,248  "),
            std::string::npos)
      << text;
}

TEST(CodegenSummary, ThousandsSeparators) {
  EXPECT_EQ(detail::with_thousands(0), "0");
  EXPECT_EQ(detail::with_thousands(999), "999");
  EXPECT_EQ(detail::with_thousands(1000), "1,000");
  EXPECT_EQ(detail::with_thousands(1234567), "1,234,567");
}
