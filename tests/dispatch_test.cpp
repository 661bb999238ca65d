// One binary for every CPU (rnnx/dispatch/): the model of tests/dispatch/model.cpp compiled once
// per instruction set (rnnx_add_dispatched_sources), this file for the baseline. Each variant
// this CPU runs is checked against PyTorch; the one the dispatcher picks is checked bit for bit
// against the same translation unit compiled for this machine (-march=native).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dispatch/run_fixture.hpp"

namespace {

using rnnx::dispatch::instruction_set;

const std::filesystem::path fixtures = RNNX_FIXTURE_DIR;

/// The variants the build compiled (rnnx_add_dispatched_sources' RNNX_DISPATCH_VARIANTS,
/// comma-separated).
std::vector<std::string> built_variants() {
  std::vector<std::string> names;
  std::stringstream list(RNNX_TEST_DISPATCH_VARIANTS);
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  return names;
}

/// RNNX_DISPATCH_ISA for the lifetime of a scope.
class forced_isa {
 public:
  explicit forced_isa(const std::string& name) { ::setenv("RNNX_DISPATCH_ISA", name.c_str(), 1); }
  ~forced_isa() { ::unsetenv("RNNX_DISPATCH_ISA"); }
  forced_isa(const forced_isa&) = delete;
  forced_isa& operator=(const forced_isa&) = delete;
};

std::filesystem::path scratch(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("rnnx_dispatch_test_" + std::to_string(::getpid()) + "_" + name);
}

std::vector<float> expected_outputs(const nlohmann::json& fixture) {
  std::vector<float> out;
  for (const auto& row : fixture.at("output"))
    for (const auto& v : row) out.push_back(v.get<float>());
  return out;
}

double worst_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

constexpr instruction_set preference[] = {instruction_set::avx512_bf16, instruction_set::avx512,
                                          instruction_set::avx2,        instruction_set::sse2,
                                          instruction_set::neon64,      instruction_set::generic};

/// Whether this CPU runs the variant called `name`.
bool cpu_runs(const std::string& name) {
  for (instruction_set s : preference)
    if (rnnx::dispatch::name(s) == name) return rnnx::dispatch::supported(s);
  return false;
}

TEST(Dispatch, PicksTheBestVariantThisCpuRuns) {
  ::unsetenv("RNNX_DISPATCH_ISA");
  const auto built = built_variants();
  instruction_set best = instruction_set::generic;
  for (instruction_set s : preference) {
    const bool has = std::find(built.begin(), built.end(), rnnx::dispatch::name(s)) != built.end();
    if (has && rnnx::dispatch::supported(s)) {
      best = s;
      break;
    }
  }
  const auto model = make_dispatch_test_model();
  EXPECT_EQ(rnnx::dispatch::name(model->isa()), rnnx::dispatch::name(best));
  EXPECT_EQ(model->input_size(), 3u);
  EXPECT_EQ(model->output_size(), 2u);
  EXPECT_EQ(model->description(), "lstm<3, 33> -> dense<33, 2, tanh>");
}

TEST(Dispatch, EveryVariantThisCpuRunsMatchesPyTorch) {
  const auto fixture = dispatch_test::read_fixture(fixtures);
  const auto weights = scratch("weights.json");
  dispatch_test::write_weights(fixture, weights);
  const auto expected = expected_outputs(fixture);
  std::size_t ran = 0;
  for (const std::string& name : built_variants()) {
    if (!cpu_runs(name)) continue;
    forced_isa force(name);
    const auto model = make_dispatch_test_model();
    ASSERT_EQ(rnnx::dispatch::name(model->isa()), name);
    model->load_weights(weights);
    const auto outputs = dispatch_test::stream(*model, fixture);
    EXPECT_LE(worst_difference(outputs, expected), 1e-5) << name;
    // One call over the whole sequence streams exactly as one call per step.
    std::vector<float> xs;
    for (const auto& row : fixture.at("input"))
      for (const auto& v : row) xs.push_back(v.get<float>());
    std::vector<float> whole(outputs.size());
    model->reset();
    model->process(xs.data(), whole.data(), fixture.at("input").size());
    EXPECT_EQ(std::memcmp(whole.data(), outputs.data(), outputs.size() * sizeof(float)), 0) << name;
    EXPECT_TRUE(model->state_finite());
    ++ran;
  }
  EXPECT_GE(ran, 1u);
  std::filesystem::remove(weights);
}

TEST(Dispatch, ChosenVariantIsBitIdenticalToTheNativeBuild) {
#ifndef RNNX_TEST_NATIVE_OUTPUTS
  GTEST_SKIP() << "a portable build (RNNX_NATIVE=OFF) has no native build to compare with";
#else
  const auto weights = scratch("native_weights.json");
  const std::string command =
      std::string(RNNX_TEST_NATIVE_OUTPUTS) + " " + fixtures.string() + " " + weights.string();
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  ASSERT_EQ(::pclose(pipe), 0) << command;
  std::istringstream lines(text);
  std::string native_isa;
  std::getline(lines, native_isa);
  std::vector<float> native;
  for (std::string line; std::getline(lines, line);) {
    const auto bits = static_cast<std::uint32_t>(std::stoul(line, nullptr, 16));
    float v;
    std::memcpy(&v, &bits, sizeof v);
    native.push_back(v);
  }
  const auto built = built_variants();
  if (std::find(built.begin(), built.end(), native_isa) == built.end())
    GTEST_SKIP() << "this machine's native build targets " << native_isa
                 << ", which no variant is compiled for";
  forced_isa force(native_isa);
  const auto model = make_dispatch_test_model();
  model->load_weights(weights);
  const auto outputs = dispatch_test::stream(*model, dispatch_test::read_fixture(fixtures));
  ASSERT_EQ(outputs.size(), native.size());
  EXPECT_EQ(std::memcmp(outputs.data(), native.data(), native.size() * sizeof(float)), 0)
      << native_isa << ": the portable variant and the -march=native build differ (worst "
      << worst_difference(outputs, native) << ")";
  std::filesystem::remove(weights);
#endif
}

TEST(Dispatch, AnInstructionSetTheProgramLacksIsNamed) {
  forced_isa force("avx1024");
  try {
    (void)make_dispatch_test_model();
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("RNNX_DISPATCH_ISA=avx1024: this program has no code for it; it has"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("sse2"), std::string::npos) << message;
  }
}

TEST(Dispatch, AWrongWeightFileIsOneErrorTypeAndLeavesTheModelAsItWas) {
  const auto fixture = dispatch_test::read_fixture(fixtures);
  const auto weights = scratch("good.json");
  dispatch_test::write_weights(fixture, weights);
  const auto bad = scratch("bad.json");
  auto wrong = fixture.at("model");
  wrong["layers"][0]["hidden_size"] = 32;
  std::ofstream(bad) << wrong.dump();
  for (const std::string& name : built_variants()) {
    if (!cpu_runs(name)) continue;
    forced_isa force(name);
    const auto model = make_dispatch_test_model();
    model->load_weights(weights);
    const auto before = dispatch_test::stream(*model, fixture);
    // rnnx::weights_error is one type whichever instruction set's code throws it.
    EXPECT_THROW(model->load_weights(bad), rnnx::weights_error) << name;
    EXPECT_EQ(dispatch_test::stream(*model, fixture), before) << name;
  }
  std::filesystem::remove(weights);
  std::filesystem::remove(bad);
}

}  // namespace
