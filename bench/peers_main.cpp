// rnnx_bench_peers' main: one thread for every library, then the benchmarks that the linked
// peers_*.cpp added, registered grouped by (mode, cell, H) (bench/peers_common.hpp).

#include <cstdlib>
#include <fstream>
#include <string>
#include <xsimd/xsimd.hpp>

#include "peers_common.hpp"
#if defined(RNNX_PEERS_OPENMP)
#include <omp.h>
#endif

int main(int argc, char** argv) {
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
