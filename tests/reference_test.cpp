// Reference outputs that travel with a model (docs/weights-format.md, "reference"): files
// written by export_torch.py (tests/data/make_reference_fixtures.py) verify against the models
// they load into; a changed output or weight is reported at its worst step; every loader
// refuses a malformed reference with a message naming it.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <rnnx/dynamic/dynamic.hpp>
#include <rnnx/rnnx.hpp>
#include <sstream>
#include <string>

namespace {

using json = nlohmann::json;
using Lstm = rnnx::network<rnnx::lstm<2, 8>, rnnx::dense<8, 3, rnnx::tanh>>;
using DoubleGru = rnnx::basic_network<double, rnnx::gru<3, 6>, rnnx::dense<6, 2>>;
using Tokens =
    rnnx::network<rnnx::embedding<7, 4>, rnnx::bidirectional<rnnx::gru<4, 3>>, rnnx::dense<6, 2>>;

const std::filesystem::path data_dir =
    std::filesystem::path(RNNX_SOURCE_DIR) / "tests/data/reference";
const std::filesystem::path lstm_file = data_dir / "lstm_2_8__dense_3_tanh.json";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

json read_document(const std::filesystem::path& path) { return json::parse(read_text(path)); }

/// The message of the weights_error `f` throws ("" if it throws none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rnnx::weights_error& e) {
    return e.what();
  }
  return "";
}

template <class Net>
std::unique_ptr<Net> loaded(const std::filesystem::path& path) {
  auto model = std::make_unique<Net>();
  rnnx::load_weights(*model, path);
  return model;
}

TEST(Reference, ExportedFilesVerify) {
  const auto lstm = loaded<Lstm>(lstm_file);
  const rnnx::reference_report report = rnnx::verify_reference(*lstm, lstm_file);
  EXPECT_EQ(report.steps, 24u);
  EXPECT_EQ(report.tolerance, 1e-5);
  EXPECT_LE(report.worst_ratio, 1.0);
  EXPECT_GT(report.worst_ratio, 0.0);  // float rnnx is not bit-identical to float64 PyTorch

  const auto gru_file = data_dir / "double_gru_3_6__dense_2.json";
  const rnnx::reference_report gru = rnnx::verify_reference(*loaded<DoubleGru>(gru_file), gru_file);
  EXPECT_EQ(gru.steps, 16u);
  EXPECT_LE(gru.worst_ratio, 1.0);
  EXPECT_LT(gru.difference, 1e-12);

  // token ids in, and no streaming step: the reference runs as one sequence
  const auto tokens_file = data_dir / "embedding_7_4__bigru_3__dense_2.json";
  EXPECT_LE(rnnx::verify_reference(*loaded<Tokens>(tokens_file), tokens_file).worst_ratio, 1.0);

  // a float32 file in a double model: the reference holds, closer still
  const auto as_double =
      loaded<rnnx::basic_network<double, rnnx::lstm<2, 8>, rnnx::dense<8, 3, rnnx::tanh>>>(
          lstm_file);
  EXPECT_LT(rnnx::verify_reference(*as_double, lstm_file).difference, 1e-9);
}

TEST(Reference, EveryLoaderAcceptsAValidReference) {
  EXPECT_EQ(rnnx::dynamic::load_network(lstm_file).out_size(), 3u);
  rnnx::model_set<Lstm, DoubleGru> models;
  EXPECT_NO_THROW(models.load(lstm_file));
}

TEST(Reference, VerifyingChangesNothing) {
  const auto model = loaded<Lstm>(lstm_file);
  const Lstm before = *model;
  rnnx::verify_reference(*model, lstm_file);
  EXPECT_TRUE(*model == before);
  rnnx::verify_reference_from_string(*model, read_text(lstm_file));
  EXPECT_TRUE(*model == before);
}

TEST(Reference, ChangedOutputIsReportedAtItsWorstStep) {
  json document = read_document(lstm_file);
  auto& outputs = document["reference"]["outputs"];
  const double expected = outputs[7][2].get<double>() + 0.01;
  outputs[7][2] = expected;
  outputs[3][0] = outputs[3][0].get<double>() + 0.001;  // out of tolerance, but not the worst
  const auto model = loaded<Lstm>(lstm_file);
  const std::string message =
      error_of([&] { rnnx::verify_reference_from_string(*model, document.dump()); });
  EXPECT_NE(message.find("rnnx::verify_reference(JSON): the model's output differs from the "
                         "reference: worst at step 7, output 2: expected "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(", got "), std::string::npos) << message;
  // The difference is 0.01 within the model's own rounding (its last digits differ between
  // instruction sets).
  const std::size_t at = message.find(", difference ");
  ASSERT_NE(at, std::string::npos) << message;
  EXPECT_NEAR(std::stod(message.substr(at + std::string(", difference ").size())), 0.01, 1e-6)
      << message;
  EXPECT_NE(message.find("(tolerance 1e-05 x max(1, |expected|)); 2 of 72 outputs out of "
                         "tolerance over 24 steps"),
            std::string::npos)
      << message;

  // through a file, the message names it
  const auto path = std::filesystem::temp_directory_path() / "rnnx_reference_test_tampered.json";
  std::ofstream(path) << document.dump();
  const std::string from_file = error_of([&] { rnnx::verify_reference(*model, path); });
  EXPECT_EQ(from_file.rfind("rnnx::verify_reference(" + path.string() + "): ", 0), 0u) << from_file;
  EXPECT_NE(from_file.find("worst at step 7, output 2"), std::string::npos) << from_file;
  std::filesystem::remove(path);
}

TEST(Reference, ChangedWeightFailsTheReference) {
  auto model = loaded<Lstm>(lstm_file);
  model->layer<1>().visit_parameters([](std::string_view name, auto& p) {
    if (name == "bias") p.at(1) += 0.05f;
  });
  const std::string message = error_of([&] { rnnx::verify_reference(*model, lstm_file); });
  EXPECT_NE(message.find("output 1: expected"), std::string::npos) << message;
  EXPECT_NE(message.find("24 of 72 outputs"), std::string::npos) << message;
}

TEST(Reference, FileWithoutReference) {
  json document = read_document(lstm_file);
  document.erase("reference");
  const auto model = loaded<Lstm>(lstm_file);
  EXPECT_EQ(error_of([&] { rnnx::verify_reference_from_string(*model, document.dump()); }),
            "rnnx::verify_reference(JSON): the file has no 'reference' (export_torch.py writes one "
            "unless given --no-reference)");
  Lstm other;
  EXPECT_NO_THROW(rnnx::load_weights_from_string(other, document.dump()));  // optional
}

TEST(Reference, TokenOutsideTheVocabulary) {
  const auto tokens_file = data_dir / "embedding_7_4__bigru_3__dense_2.json";
  json document = read_document(tokens_file);
  document["reference"]["inputs"][2][0] = 7;
  const auto model = loaded<Tokens>(tokens_file);
  const std::string message =
      error_of([&] { rnnx::verify_reference_from_string(*model, document.dump()); });
  EXPECT_NE(message.find("reference 'inputs'[2][0] = 7 cannot be an input of embedding<7, 4>"),
            std::string::npos)
      << message;
}

/// The message every loader gives for the file with `change` applied to its reference: the
/// typed, the dynamic and the model_set loader, and verify_reference, must all agree.
std::string refused(const std::function<void(json&)>& change) {
  json document = read_document(lstm_file);
  change(document["reference"]);
  const std::string text = document.dump();
  Lstm model;
  const std::string typed = error_of([&] { rnnx::load_weights_from_string(model, text); });
  EXPECT_TRUE(model == Lstm{}) << "a refused file must leave the model unchanged";
  const std::string dynamic = error_of([&] { rnnx::dynamic::network_from_string(text); });
  const std::string verify =
      error_of([&] { rnnx::verify_reference_from_string(*loaded<Lstm>(lstm_file), text); });
  const auto strip = [](const std::string& message) {
    return message.substr(message.find("): ") + 3);
  };
  EXPECT_FALSE(typed.empty());
  EXPECT_EQ(strip(typed), strip(dynamic));
  EXPECT_EQ(strip(typed), strip(verify));
  return strip(typed);
}

TEST(Reference, MalformedReferenceIsRefusedByEveryLoader) {
  EXPECT_EQ(refused([](json& r) { r = json::array(); }),
            "'reference' must be an object, found an array");
  EXPECT_EQ(refused([](json& r) { r.erase("tolerance"); }),
            "reference: field 'tolerance' is missing");
  EXPECT_EQ(refused([](json& r) { r["tolerance"] = 0; }),
            "reference 'tolerance' is 0; it must be a positive finite number");
  EXPECT_EQ(refused([](json& r) { r["steps"] = 24; }),
            "reference: unknown field 'steps' (it holds inputs, outputs and tolerance)");
  EXPECT_EQ(refused([](json& r) { r["inputs"] = json::array(); }),
            "reference 'inputs' must be a non-empty list of steps, found []");
  EXPECT_EQ(refused([](json& r) { r["inputs"][5].push_back(1.0); }),
            "reference 'inputs' step 5 must hold 2 numbers (the model's input size), found 3 "
            "entries");
  EXPECT_EQ(refused([](json& r) { r["outputs"].erase(r["outputs"].size() - 1); }),
            "reference 'outputs' must be a list of 24 steps (as many as 'inputs'), found 23 "
            "entries");
  EXPECT_EQ(refused([](json& r) { r["outputs"][4] = "x"; }),
            "reference 'outputs' step 4 must hold 3 numbers (the model's output size), found a "
            "string");
  EXPECT_EQ(refused([](json& r) { r["outputs"][4][1] = nullptr; }),
            "reference 'outputs'[4][1] is null, not a finite number");
  EXPECT_EQ(refused([](json& r) {
              json steps = json::array();
              for (int t = 0; t < 100001; ++t) steps.push_back({0, 0});
              r["inputs"] = steps;
            }),
            "reference holds 100001 steps; a reference holds at most 100000 steps and 4194304 "
            "values");
}

}  // namespace
