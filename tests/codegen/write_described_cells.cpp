// Writes what codegen_described_cells_test generates headers from, into the directory given:
// janet_schema.json (the user's cell's layer schema) and a seeded weight file of each model of
// described_cells_models.hpp.

#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <rnnx/io/layer_schema.hpp>
#include <rnnx/io/weights.hpp>
#include <rnnx/train/initialization.hpp>

#include "described_cells_models.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_described_cells DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  try {
    rnnx::save_layer_schema<user::janet<1, 1>>(dir / "janet_schema.json");
    auto streaming = std::make_unique<described_cells::Streaming>();
    rnnx::initialize(*streaming, 11);
    rnnx::save_weights(*streaming, dir / "described_cells_streaming.json");
    auto bidirectional = std::make_unique<described_cells::Bidirectional>();
    rnnx::initialize(*bidirectional, 12);
    rnnx::save_weights(*bidirectional, dir / "described_cells_bidirectional.json");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "write_described_cells: %s\n", e.what());
    return 1;
  }
  return 0;
}
