// load_weights through the compiled reader (rnnx::io): the same values and the same refusals,
// word for word, as the header-only reader, which this executable can still call directly
// (detail::parse_weight_file). compiled_io_light.cpp loads without any JSON code.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <rnnx/rnnx.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "compiled_io_model.hpp"
#include "weights_error_of.hpp"

namespace {

namespace fs = std::filesystem;
using compiled_io::model;
using rnnx_test::error_of;

const fs::path reference_file = RNNX_SOURCE_DIR "/tests/data/reference/lstm_2_8__dense_3_tanh.json";

std::string text_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path path = fs::path(::testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CompiledIo, LoadsWhatTheJsonLoaderLoads) {
  auto light = std::make_unique<model>();
  compiled_io::load_light(*light, reference_file);
  auto json = std::make_unique<model>();
  rnnx::load_weights_from_json(*json, nlohmann::json::parse(text_of(reference_file)));
  EXPECT_TRUE(*light == *json);
  EXPECT_FALSE(*light == model{});
  rnnx::verify_reference(*light, reference_file);  // PyTorch's outputs, from this model

  auto from_text = std::make_unique<model>();
  compiled_io::load_light_text(*from_text, text_of(reference_file));
  EXPECT_TRUE(*from_text == *json);
}

// Every refusal names the same problem as the header-only reader, and leaves the model as it was.
TEST(CompiledIo, RefusesWordForWordAsTheHeaderOnlyReader) {
  auto document = nlohmann::json::parse(text_of(reference_file));
  auto wrong_size = document;
  wrong_size["layers"][0]["hidden_size"] = 9;
  auto short_output = document;  // the reference's outputs are checked for shape on load
  short_output["reference"]["outputs"][3] = {0.5};
  auto non_finite = text_of(reference_file);
  non_finite.replace(non_finite.find("\"bias_hh\": [") + 12, 0, "1e999, ");
  const std::vector<fs::path> bad = {
      fs::path(::testing::TempDir()) / "no_such_file.json",
      write_file("compiled_io_not_json.json", "{\"format\": "),
      write_file("compiled_io_wrong_size.json", wrong_size.dump()),
      write_file("compiled_io_short_output.json", short_output.dump()),
      write_file("compiled_io_non_finite.json", non_finite),
      write_file("compiled_io_too_large.json", std::string(2 << 20, ' ') + document.dump()),
  };
  for (const fs::path& path : bad) {
    auto m = std::make_unique<model>();
    compiled_io::load_light(*m, reference_file);
    const model before = *m;
    const std::string compiled = error_of([&] { compiled_io::load_light(*m, path); });
    const std::string header_only = error_of([&] {
      (void)rnnx::detail::parse_weight_file<float>(
          path, rnnx::detail::weight_request_of(*m, path.string()));
    });
    EXPECT_NE(compiled, "") << path;
    EXPECT_EQ(compiled, header_only) << path;
    EXPECT_TRUE(*m == before) << path;
  }
  EXPECT_EQ(error_of([] {
              auto m = std::make_unique<model>();
              compiled_io::load_light_text(*m, "[1, 2]");
            }),
            "rnnx::load_weights(JSON): the document must be a JSON object");
}

}  // namespace
