// rnnx_bench_peers' main: one thread for every library, then the benchmarks that the linked
// peers_*.cpp added, registered grouped by (mode, cell, H) (bench/peers_common.hpp).
//
// --export_models=FILE writes the benchmarked models instead of running them, for peers
// outside this binary (bench/torch_peers.py): one JSON document
//   {"sequence_length": 1000, "tolerance": 1e-5, "inputs": [x_0 .. x_1023],
//    "models": [{"cell": "lstm", "hidden": 8, "weights": <rnnx weight document>,
//                "reference": [y_0 .. y_999]}, ...]}
// with every (cell, H) of peers::hidden_sizes, the sine table the streams read in a loop and
// the double-precision reference outputs over the first 1000 inputs from the zero state.

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <xsimd/xsimd.hpp>

#include "peers_common.hpp"
#if defined(RNNX_PEERS_OPENMP)
#include <omp.h>
#endif

namespace {

std::string numbers(std::span<const double> values) {
  std::string out = "[";
  char buf[32];
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", values[i]);
    out += buf;
  }
  return out + "]";
}

/// Writes the models, inputs and references (see the top of this file); false on failure.
bool export_models(const std::string& path) {
  const auto& table = peers::sine_table();
  const std::vector<double> inputs(table.begin(), table.end());
  std::string out = "{\"sequence_length\": " + std::to_string(peers::sequence_length) +
                    ", \"tolerance\": " + std::to_string(peers::default_tolerance) +
                    ", \"inputs\": " + numbers(inputs) + ", \"models\": [";
  bool first = true;
  for (const peers::cell c : peers::cells)
    for (const std::size_t h : peers::hidden_sizes) {
      out += first ? "" : ", ";
      first = false;
      out += "{\"cell\": \"" + std::string(peers::name_of(c)) +
             "\", \"hidden\": " + std::to_string(h) +
             ", \"weights\": " + peers::weights_json(peers::model_weights(c, h)) +
             ", \"reference\": " + numbers(peers::reference_outputs(c, h)) + "}";
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
