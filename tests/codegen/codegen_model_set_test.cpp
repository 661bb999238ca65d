// A model-set header (rnnx-codegen with two weight files): its types are the files'
// architectures, and the set it declares loads each file into its own type and runs it exactly
// as the concrete model that load_weights fills.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "model_set_pair.hpp"

namespace {

using codegen_test::set::Gru6;
using codegen_test::set::Lstm5;
using codegen_test::set::Pair_set;

static_assert(std::is_same_v<Lstm5, rnnx::network<rnnx::lstm<1, 5>, rnnx::dense<5, 1>>>);
static_assert(std::is_same_v<Gru6, rnnx::network<rnnx::gru<1, 6>, rnnx::dense<6, 1, rnnx::tanh>>>);
static_assert(std::is_same_v<Pair_set, rnnx::model_set<Lstm5, Gru6>>);

template <class Net>
void check_file(Pair_set& set, const std::string& file) {
  SCOPED_TRACE(file);
  const std::string path = std::string(RNNX_CODEGEN_DATA_DIR) + "/" + file;
  set.load(path);
  ASSERT_TRUE(set.holds<Net>());
  auto model = std::make_unique<Net>();
  rnnx::load_weights(*model, path);
  auto state = model->initial_state();
  std::vector<float> xs(300), expected, ys(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    xs[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
    expected.push_back(model->step(xs[i], state)[0]);
  }
  EXPECT_EQ(set.process(xs, ys), xs.size());
  EXPECT_EQ(std::memcmp(ys.data(), expected.data(), ys.size() * sizeof(float)), 0);
}

TEST(CodegenModelSet, EachFileLoadsIntoItsGeneratedType) {
  Pair_set set;
  check_file<Gru6>(set, "set_gru_1_6__dense_1_tanh.json");
  check_file<Lstm5>(set, "set_lstm_1_5__dense_1.json");
  EXPECT_EQ(Pair_set::architectures(),
            (std::vector<std::string>{"lstm<1, 5> -> dense<5, 1, identity> (float)",
                                      "gru<1, 6> -> dense<6, 1, tanh> (float)"}));
}

}  // namespace
