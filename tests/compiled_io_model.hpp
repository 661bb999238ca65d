#pragma once
// The model of compiled_io_test, and what its JSON-free translation unit
// (compiled_io_light.cpp) does with it.

#include <filesystem>
#include <rnnx/layers/dense.hpp>
#include <rnnx/layers/lstm.hpp>
#include <rnnx/network.hpp>
#include <string_view>

namespace compiled_io {

using model = rnnx::network<rnnx::lstm<2, 8>, rnnx::dense<8, 3, rnnx::tanh>>;

void load_light(model& m, const std::filesystem::path& path);
void load_light_text(model& m, std::string_view text);

}  // namespace compiled_io
