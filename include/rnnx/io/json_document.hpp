#pragma once
// Reading the JSON document behind an rnnx file (weights, states) with the messages every
// loader gives: "<caller>: cannot open '<path>'", "<caller>(<path>): not valid JSON: ...",
// thrown as the loader's own error type.

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace rnnx::detail {

/// The document in a file; `caller` ("rnnx::load_weights") starts the messages of Error.
template <class Error>
nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view caller) {
  std::ifstream in(path);
  if (!in) throw Error(std::string(caller) + ": cannot open '" + path.string() + "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
    throw Error(std::string(caller) + "(" + path.string() + "): not valid JSON: " + e.what());
  }
}

/// The document in JSON text.
template <class Error>
nlohmann::json parse_json_text(std::string_view text, std::string_view caller) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(caller) + ": not valid JSON: " + e.what());
  }
}

}  // namespace rnnx::detail
