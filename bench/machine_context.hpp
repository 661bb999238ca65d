#pragma once
// What every benchmark result records about the machine it ran on, in the JSON's "context"
// next to Google Benchmark's own (caches, CPUs, clock): the CPU model, the instruction sets it
// has, the one this binary was compiled for, and the measured single-core float FMA peak.
// Included by every benchmark binary; recorded before main (Google Benchmark's main reads the
// context when it starts).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <rnnx/isa.hpp>
#include <rnnx/simd/batch.hpp>
#include <sstream>
#include <string>
#include <utility>

namespace rnnx_bench {

/// `rounds` x 1024 rounds of independent FMAs on the widest float register this binary is
/// compiled for: enough chains to cover FMA latency x throughput (4 cycles x 2 ports), few
/// enough to stay in registers next to the two operands. Returns the FLOPs done.
inline double fma_chains(std::size_t rounds) {
  using batch = rnnx::simd::batch<float>;
  constexpr std::size_t chains = batch::size >= 16 ? 16 : 12;
  constexpr std::size_t inner = 1024;
  // acc = acc * a + b converges to b / (1 - a): no overflow and no denormals however long.
  float a_value = 0.999f, b_value = 1e-3f;
  benchmark::DoNotOptimize(a_value);
  benchmark::DoNotOptimize(b_value);
  const batch a(a_value), b(b_value);
  std::array<batch, chains> acc;
  for (std::size_t k = 0; k < chains; ++k) acc[k] = batch(static_cast<float>(k));
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < inner; ++i) {
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        ((acc[K] = rnnx::simd::fma(acc[K], a, b)), ...);
      }
      (std::make_index_sequence<chains>{});
    }
    [&]<std::size_t... K>(std::index_sequence<K...>) { (benchmark::DoNotOptimize(acc[K]), ...); }
    (std::make_index_sequence<chains>{});
  }
  return 2.0 * batch::size * chains * inner * static_cast<double>(rounds);
}

/// The best of 5 short timings of fma_chains, in GFLOP/s (about 0.1 s in all).
inline double measured_fma_peak_gflops() {
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    const auto start = std::chrono::steady_clock::now();
    const double flops = fma_chains(2000);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = std::max(best, flops / took.count() * 1e-9);
  }
  return best;
}

/// "model name" and the instruction-set flags that matter here, from /proc/cpuinfo.
inline std::pair<std::string, std::string> cpu_model_and_isa() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown", flags;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_first_of(" \t"));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (key == "model" && line.rfind("model name", 0) == 0 && model == "unknown") model = value;
    if ((key == "flags" || key == "Features") && flags.empty())
      flags.append(" ").append(value).append(" ");
  }
  std::string isa;
  for (const char* f : {"sse2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
                        "avx512_bf16", "avx512_fp16", "amx_bf16", "asimd", "sve"}) {
    std::string word = " ";
    word.append(f).append(" ");
    if (flags.find(word) == std::string::npos) continue;
    if (!isa.empty()) isa.push_back(' ');
    isa.append(f);
  }
  return {model, isa};
}

inline bool record_machine_context() {
  const auto [model, isa] = cpu_model_and_isa();
  benchmark::AddCustomContext("cpu_model", model);
  benchmark::AddCustomContext("cpu_isa", isa);
  benchmark::AddCustomContext("build_isa", rnnx::instruction_set);
  std::ostringstream peak;
  peak << measured_fma_peak_gflops();
  benchmark::AddCustomContext("fma_peak_gflops", peak.str());
  return true;
}

inline const bool machine_context_recorded = record_machine_context();

}  // namespace rnnx_bench
