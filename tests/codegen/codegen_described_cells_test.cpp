// Headers rnnx-codegen generated for cells no Python code names: mgu, cifg_lstm, light_gru and
// indrnn through codegen/layers.json, and user::janet through the schema
// rnnx::save_layer_schema wrote for it (--layers). Each must be the model's own type and equal
// what load_weights reads from the same file, bit for bit, and stream like it.
#include <array>
#include <memory>

#include "described_cells_bidirectional.hpp"
#include "described_cells_models.hpp"
#include "described_cells_streaming.hpp"
#include "generated_model_check.hpp"

using rnnx_codegen_test::read_json;

static_assert(std::is_same_v<codegen_test::described::Streaming, described_cells::Streaming>);
static_assert(
    std::is_same_v<codegen_test::described::Bidirectional, described_cells::Bidirectional>);

TEST(CodegenDescribedCells, StreamingEqualsLoadWeights) {
  const auto generated = codegen_test::described::make_Streaming();
  rnnx_codegen_test::check_against_loader(
      *generated, codegen_test::described::fill_Streaming,
      read_json(RNNX_GENERATED_DIR "/described_cells_streaming.json"), "described_cells_streaming");
  auto state = generated->initial_state();
  const auto y = generated->step(std::array<float, 2>{0.5f, -1.0f}, state);
  EXPECT_NE(y[0], 0.0f);
}

TEST(CodegenDescribedCells, BidirectionalEqualsLoadWeights) {
  rnnx_codegen_test::check_against_loader(
      *codegen_test::described::make_Bidirectional(), codegen_test::described::fill_Bidirectional,
      read_json(RNNX_GENERATED_DIR "/described_cells_bidirectional.json"),
      "described_cells_bidirectional");
}
