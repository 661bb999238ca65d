#pragma once
// What dispatch_test and dispatch_native_outputs both do with a dispatched model: load the
// weights of a PyTorch fixture (tests/data/fixtures) and stream its input through the model.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <rnnx/dispatch/model.hpp>
#include <stdexcept>
#include <string>
#include <vector>

std::unique_ptr<rnnx::dispatch::model> make_dispatch_test_model();

namespace dispatch_test {

inline const char* fixture_name = "lstm_3_33__dense_2_tanh";

inline nlohmann::json read_fixture(const std::filesystem::path& dir) {
  std::ifstream in(dir / (std::string(fixture_name) + ".json"));
  if (!in) throw std::runtime_error("cannot read the fixture " + std::string(fixture_name));
  return nlohmann::json::parse(in);
}

/// The fixture's model as a weight file of its own, at `file`.
inline void write_weights(const nlohmann::json& fixture, const std::filesystem::path& file) {
  std::ofstream(file) << fixture.at("model").dump();
}

/// The outputs of every input row, streamed from the zero state, one process() call per row.
inline std::vector<float> stream(rnnx::dispatch::model& model, const nlohmann::json& fixture) {
  std::vector<float> out;
  std::vector<float> y(model.output_size());
  model.reset();
  for (const auto& row : fixture.at("input")) {
    std::vector<float> x;
    for (const auto& v : row) x.push_back(v.get<float>());
    model.process(x.data(), y.data(), 1);
    out.insert(out.end(), y.begin(), y.end());
  }
  return out;
}

}  // namespace dispatch_test
