// One portable binary against the -march=native build (issue: fastest on every CPU it ships
// to). The same benchmarks run in two binaries built from the same sources:
//   rnnx_bench_dispatch         built without -march flags; the models (dispatch_models.cpp)
//                               compiled per instruction set, the best this CPU runs picked at
//                               start (RNNX_DISPATCH_ISA=avx2 etc. forces one)
//   rnnx_bench_dispatch_native  everything built for this machine (-march=native)
// Compare them side by side with bench/compare_builds.py.
//
// Benchmarks: <cell>/H:<H>/block:<n>: model->process over n steps per call (n = 1: one
// virtual call per streaming step, the worst case; n = 64: an audio block), ns per step.
// Counters: ns/step; checksum, the sum of the outputs of the first 1000 steps from the zero
// state, equal in both binaries when they run the same instruction set; isa, the instruction
// set's index in rnnx::dispatch::instruction_set.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <rnnx/dispatch/model.hpp>
#include <string>
#include <vector>

#include "machine_context.hpp"

#define RNNX_BENCH_DECLARE(h)                             \
  std::unique_ptr<rnnx::dispatch::model> make_lstm_##h(); \
  std::unique_ptr<rnnx::dispatch::model> make_gru_##h();
RNNX_BENCH_DECLARE(8)
RNNX_BENCH_DECLARE(16)
RNNX_BENCH_DECLARE(32)
RNNX_BENCH_DECLARE(64)
RNNX_BENCH_DECLARE(128)

namespace {

/// A weight file for <cell>(1 -> h) -> dense(h -> 1), PyTorch's default initialisation
/// (uniform in +-1/sqrt(h), in steps of 1e-4 of it), seeded by the cell and size.
std::filesystem::path weight_file(const std::string& cell, std::size_t h) {
  const std::size_t gates = cell == "lstm" ? 4 : 3;
  std::mt19937 rng(static_cast<unsigned>(1234 + h + gates));
  const double bound = 1.0 / std::sqrt(static_cast<double>(h));
  // From the generator's integers, with no a + b * c that -mfma could fuse: the two binaries
  // are compiled with different flags and must load the same weights.
  auto uniform = [&](std::mt19937& g) {
    return static_cast<double>(static_cast<int>(g() % 20001) - 10000) * bound / 10000.0;
  };
  auto matrix = [&](std::size_t rows, std::size_t cols) {
    std::string s = "[";
    for (std::size_t r = 0; r < rows; ++r) {
      s += r ? ", [" : "[";
      for (std::size_t c = 0; c < cols; ++c) s += (c ? ", " : "") + std::to_string(uniform(rng));
      s += "]";
    }
    return s + "]";
  };
  auto vector = [&](std::size_t n) {
    std::string s = "[";
    for (std::size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(uniform(rng));
    return s + "]";
  };
  const std::string hs = std::to_string(h);
  std::string doc = R"({"format": "rnnx.weights", "version": 1, "dtype": "float32", "layers": [)";
  doc += R"({"type": ")" + cell + R"(", "input_size": 1, "hidden_size": )" + hs +
         R"(, "parameters": {"weight_ih": )" + matrix(gates * h, 1) + R"(, "weight_hh": )" +
         matrix(gates * h, h) + R"(, "bias_ih": )" + vector(gates * h) + R"(, "bias_hh": )" +
         vector(gates * h) + "}}, ";
  doc += R"({"type": "dense", "in_features": )" + hs +
         R"(, "out_features": 1, "activation": "identity", "parameters": {"weight": )" +
         matrix(1, h) + R"(, "bias": )" + vector(1) + "}}]}";
  const auto path =
      std::filesystem::temp_directory_path() /
      ("rnnx_dispatch_bench_" + std::to_string(::getpid()) + "_" + cell + hs + ".json");
  std::ofstream(path) << doc;
  return path;
}

using factory = std::unique_ptr<rnnx::dispatch::model> (*)();

void run(benchmark::State& state, factory make, const std::string& cell, std::size_t h,
         std::size_t block) {
  std::unique_ptr<rnnx::dispatch::model> model;
  try {
    model = make();
    const auto file = weight_file(cell, h);
    model->load_weights(file);
    std::filesystem::remove(file);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  constexpr std::size_t table = 1024;
  std::vector<float> in(table + block), out(block);
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i] = std::sin(2.0f * 3.14159265f * static_cast<float>(i % table) / table);
  double checksum = 0;
  for (std::size_t t = 0; t < 1000; ++t) {
    float y;
    model->process(&in[t % table], &y, 1);
    checksum += y;
  }
  model->reset();
  std::size_t t = 0;
  for (auto _ : state) {
    model->process(&in[t], out.data(), block);
    benchmark::DoNotOptimize(out.data());
    t = (t + block) % table;
  }
  const double steps = static_cast<double>(state.iterations()) * static_cast<double>(block);
  // kIsRate divides by seconds, kInvert takes the reciprocal: seconds / (steps * 1e-9).
  state.counters["ns/step"] =
      benchmark::Counter(steps * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum;
  state.counters["isa"] = static_cast<double>(model->isa());
  state.SetLabel(std::string(rnnx::dispatch::name(model->isa())));
}

void register_all() {
  struct entry {
    const char* cell;
    std::size_t h;
    factory make;
  };
  const entry models[] = {{"lstm", 8, make_lstm_8},     {"lstm", 16, make_lstm_16},
                          {"lstm", 32, make_lstm_32},   {"lstm", 64, make_lstm_64},
                          {"lstm", 128, make_lstm_128}, {"gru", 8, make_gru_8},
                          {"gru", 16, make_gru_16},     {"gru", 32, make_gru_32},
                          {"gru", 64, make_gru_64},     {"gru", 128, make_gru_128}};
  for (std::size_t block : {std::size_t{1}, std::size_t{64}})
    for (const entry& e : models) {
      const std::string name =
          std::string(e.cell) + "/H:" + std::to_string(e.h) + "/block:" + std::to_string(block);
      benchmark::RegisterBenchmark(
          name.c_str(), [e, block](benchmark::State& s) { run(s, e.make, e.cell, e.h, block); });
    }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
