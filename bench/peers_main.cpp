// rnnx_bench_peers' main: one thread for every library, then the benchmarks that the linked
// peers_*.cpp added, registered grouped by (mode, cell, H) (bench/peers_common.hpp).
//
// --export_models=FILE writes the benchmarked models instead of running them, for peers
// outside this binary (bench/torch_peers.py): one JSON document
//   {"sequence_length": 1000, "tolerance": 1e-5, "inputs": [x_0 .. x_1023],
//    "models": [{"cell": "lstm", "hidden": 8, "weights": <rnnx weight document>,
//                "reference": [y_0 .. y_999]}, ...]}
// with every (cell, H) of peers::hidden_sizes, the sine table the streams read in a loop and
// the double-precision reference outputs over the first 1000 inputs from the zero state; and
// the cases of bench/peers_batch.hpp:
//   "stream_phase": 97, "feature_phase": 61   input j of stream k at step t is
//                                             inputs[(t + 97 k + 61 j) % 1024]
//   "batch_verify_steps": 250,
//   "batch_models": [{"cell": "lstm", "hidden": 32, "batch_sizes": [8, 32],
//                     "references": [[stream 0's y_0 .. y_249], .. 32 streams]}, ...]
//                   (the weights are the batch-1 model's of the same cell and H in "models")
//   "extra_models": [{"variant": "/In:16/Out:16", "cell": "lstm", "hidden": 128, "in": 16,
//                     "out": 16, "layers": 1, "weights": <rnnx weight document>,
//                     "reference": [y_0 .. y_999, Out values each]}, ...]

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <xsimd/xsimd.hpp>

#include "peers_batch.hpp"
#if defined(RNNX_PEERS_OPENMP)
#include <omp.h>
#endif

namespace {

template <class Number>
std::string numbers(std::span<const Number> values) {
  std::string out = "[";
  char buf[32];
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", double(values[i]));
    out += buf;
  }
  return out + "]";
}

/// Writes the models, inputs and references (see the top of this file); false on failure.
bool export_models(const std::string& path) {
  const auto& table = peers::sine_table();
  const std::vector<double> inputs(table.begin(), table.end());
  bool first = true;
  std::string out = "{\"sequence_length\": " + std::to_string(peers::sequence_length) +
                    ", \"tolerance\": " + std::to_string(peers::default_tolerance) +
                    ", \"inputs\": " + numbers(std::span<const double>(inputs)) + ", \"models\": [";
  for (const peers::cell c : peers::cells)
    for (const std::size_t h : peers::hidden_sizes) {
      out += first ? "" : ", ";
      first = false;
      out +=
          "{\"cell\": \"" + std::string(peers::name_of(c)) +
          "\", \"hidden\": " + std::to_string(h) +
          ", \"weights\": " + peers::weights_json(peers::model_weights(c, h)) +
          ", \"reference\": " + numbers(std::span<const double>(peers::reference_outputs(c, h))) +
          "}";
    }
  out += "], \"stream_phase\": " + std::to_string(peers::stream_phase) +
         ", \"feature_phase\": " + std::to_string(peers::feature_phase) +
         ", \"batch_verify_steps\": " + std::to_string(peers::batch_verify_steps) +
         ", \"batch_models\": [";
  const std::size_t streams =
      *std::max_element(peers::batch_sizes.begin(), peers::batch_sizes.end());
  first = true;
  for (const peers::cell c : peers::cells)
    for (const std::size_t h : peers::batch_hidden_sizes) {
      out += first ? "" : ", ";
      first = false;
      out += "{\"cell\": \"" + std::string(peers::name_of(c)) +
             "\", \"hidden\": " + std::to_string(h) +
             ", \"batch_sizes\": " + numbers(std::span<const std::size_t>(peers::batch_sizes)) +
             ", \"references\": [";
      for (std::size_t k = 0; k < streams; ++k)
        out += (k ? ", " : "") + numbers(std::span<const double>(peers::stream_reference(
                                     peers::model_stack(c, h), k, peers::batch_verify_steps)));
      out += "]}";
    }
  out += "], \"extra_models\": [";
  first = true;
  for (const peers::extra_model& m : peers::extra_models) {
    const peers::stack& s = peers::extra_stack(m);
    out += first ? "" : ", ";
    first = false;
    out += "{\"variant\": \"" + std::string(m.variant) +
           "\", \"cell\": \"lstm\", \"hidden\": " + std::to_string(m.hidden) +
           ", \"in\": " + std::to_string(m.in) + ", \"out\": " + std::to_string(m.out) +
           ", \"layers\": " + std::to_string(m.layers) + ", \"weights\": " + peers::stack_json(s) +
           ", \"reference\": " +
           numbers(std::span<const double>(peers::stream_reference(s, 0, peers::verify_steps))) +
           "}";
  }
  out += "]}\n";
  std::ofstream file(path, std::ios::binary);
  file << out;
  file.close();
  if (!file) std::cerr << "rnnx_bench_peers: cannot write '" << path << "'\n";
  return static_cast<bool>(file);
}

}  // namespace

int main(int argc, char** argv) {
  constexpr std::string_view export_flag = "--export_models=";
  for (int i = 1; i < argc; ++i)
    if (const std::string_view arg = argv[i]; arg.starts_with(export_flag))
      return export_models(std::string(arg.substr(export_flag.size()))) ? 0 : 1;
#if defined(RNNX_PEERS_OPENMP)
  omp_set_num_threads(1);  // oneDNN's and LibTorch's OpenMP runtime
#endif
  benchmark::AddCustomContext("peers_threads", "1");
  // What the numbers depend on besides the code: the machine, the SIMD level, the compiler.
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      benchmark::AddCustomContext("cpu_model", line.substr(line.find(':') + 2));
      break;
    }
  benchmark::AddCustomContext("simd", xsimd::default_arch::name());
  benchmark::AddCustomContext("compiler", __VERSION__);
#if defined(RNNX_PEERS_BUILD)
  benchmark::AddCustomContext("build", RNNX_PEERS_BUILD);
#endif
  peers::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
