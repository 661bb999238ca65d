// rnnx-layers: writes the layer schema (include/rnnx/io/layer_schema.hpp) of every layer type
// rnnx ships to the file named on the command line. codegen/layers.json is its output, which
// rnnx-codegen reads; the test layer_schema_current fails when the two differ, so a layer
// added here and not regenerated is caught:
//   cmake --build build --target rnnx-layers && build/codegen/rnnx-layers codegen/layers.json
// The sizes below do not matter (the schema holds formulas); each type is listed once, in the
// order rnnx-codegen names them in messages.

#include <cstdio>
#include <exception>
#include <rnnx/io/layer_schema.hpp>
#include <rnnx/rnnx.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: rnnx-layers SCHEMA.json\n");
    return 2;
  }
  try {
    rnnx::save_layer_schema<rnnx::lstm<1, 1>, rnnx::gru<1, 1>, rnnx::rnn<1, 1>, rnnx::dense<1, 1>,
                            rnnx::activation<1, rnnx::identity>, rnnx::peephole_lstm<1, 1>,
                            rnnx::embedding<1, 1>, rnnx::layer_norm<1>, rnnx::prelu<1, 1>,
                            rnnx::dropout<1>, rnnx::gru_reset_before<1, 1>,
                            rnnx::bidirectional<rnnx::lstm<1, 1>>, rnnx::mgu<1, 1>,
                            rnnx::cifg_lstm<1, 1>, rnnx::indrnn<1, 1>, rnnx::light_gru<1, 1>>(
        argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rnnx-layers: %s\n", e.what());
    return 1;
  }
  return 0;
}
