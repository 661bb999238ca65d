// The shared validation cases (tests/data/validation_cases.json) through every C++ loader:
// rnnx::load_weights on a typed model, rnnx::dynamic::load_network and rnnx::model_set. Each
// must refuse the case's document with a weights_error whose message contains the case's
// problem text, the text tests/codegen/validation_cases_test.py expects of rnnx-codegen.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <rnnx/dynamic/dynamic.hpp>
#include <rnnx/rnnx.hpp>
#include <set>
#include <string>
#include <vector>

#include "weights_error_of.hpp"

namespace {

/// One case of tests/data/validation_cases.json (its "about" describes the fields).
struct validation_case {
  std::string name;
  std::string model;
  std::string document;  // the bytes of the weight file
  std::string problem;
  std::vector<std::string> tools;
  std::size_t max_file_bytes = 0;
};

/// The bytes a case's "document" stands for: a string (its UTF-8 text), or a list of pieces,
/// each a string, {"hex": "E9 FF"} (those bytes) or {"repeat": "k", "times": 100}.
std::string document_bytes(const nlohmann::json& document) {
  if (document.is_string()) return document.get<std::string>();
  std::string bytes;
  for (const nlohmann::json& piece : document) {
    if (piece.is_string()) {
      bytes += piece.get<std::string>();
    } else if (piece.contains("hex")) {
      const std::string hex = piece["hex"].get<std::string>();
      for (std::size_t i = 0; i + 1 < hex.size(); i += hex[i] == ' ' ? 1 : 2)
        if (hex[i] != ' ') bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    } else {
      for (int k = 0; k < piece["times"].get<int>(); ++k)
        bytes += piece["repeat"].get<std::string>();
    }
  }
  return bytes;
}

std::vector<validation_case> validation_cases() {
  std::ifstream in(RNNX_SOURCE_DIR "/tests/data/validation_cases.json", std::ios::binary);
  const nlohmann::json file =
      nlohmann::json::parse(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::vector<validation_case> cases;
  for (const nlohmann::json& c : file.at("cases")) {
    validation_case read{c.at("name"),
                         c.at("model"),
                         document_bytes(c.at("document")),
                         c.at("problem"),
                         {},
                         c.value("max_file_bytes", std::size_t{0})};
    read.tools = c.value(
        "tools", std::vector<std::string>{"load_weights", "dynamic", "model_set", "codegen"});
    cases.push_back(std::move(read));
  }
  return cases;
}

using dense_2_1 = rnnx::network<rnnx::dense<2, 1, rnnx::identity>>;
using lstm_1_2 = rnnx::network<rnnx::lstm<1, 2>, rnnx::dense<2, 1, rnnx::identity>>;
using every_model = rnnx::model_set<dense_2_1, lstm_1_2>;

/// "dense<2, 1, identity> (float)": how cases name a model type.
template <class Net>
std::string model_name() {
  return Net::description() +
         (std::is_same_v<typename Net::scalar, float> ? " (float)" : " (double)");
}

/// What load_weights says of `path` for the case's model type ("" if it loads).
std::string typed_error(const validation_case& c, const std::filesystem::path& path,
                        rnnx::load_options options) {
  bool known = false;
  std::string message;
  const auto load = [&]<class Net>() {
    if (model_name<Net>() != c.model) return;
    known = true;
    auto model = std::make_unique<Net>();
    message = rnnx_test::error_of([&] { rnnx::load_weights(*model, path, options); });
  };
  load.operator()<dense_2_1>();
  load.operator()<lstm_1_2>();
  if (!known) ADD_FAILURE() << "case " << c.name << ": no model type " << c.model;
  return message;
}

TEST(ValidationCases, EveryLoaderGivesTheCasesProblemText) {
  const std::vector<validation_case> cases = validation_cases();
  ASSERT_GE(cases.size(), 15u);
  // One file per process: this test also runs as validation_cases_compiled_io_test, in parallel.
  const auto path = std::filesystem::temp_directory_path() /
                    ("rnnx_validation_cases_test_" + std::to_string(::getpid()) + ".json");
  std::set<std::string> names;
  for (const validation_case& c : cases) {
    SCOPED_TRACE("case " + c.name);
    EXPECT_TRUE(names.insert(c.name).second) << "two cases are named " << c.name;
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << c.document;
    }
    const rnnx::load_options options{.max_file_bytes = c.max_file_bytes};
    for (const std::string& tool : c.tools) {
      std::string message;
      if (tool == "load_weights") {
        message = typed_error(c, path, options);
      } else if (tool == "dynamic") {
        message = rnnx_test::error_of([&] { rnnx::dynamic::load_network(path, options); });
      } else if (tool == "model_set") {
        every_model set;
        message = rnnx_test::error_of([&] { set.load(path, options); });
        EXPECT_FALSE(set.loaded());
      } else if (tool != "codegen") {
        ADD_FAILURE() << "unknown tool " << tool;
        continue;
      } else {
        continue;
      }
      EXPECT_NE(message.find(c.problem), std::string::npos)
          << tool << " says: " << message << "\nthe case expects: " << c.problem;
    }
  }
  std::filesystem::remove(path);
}

}  // namespace
