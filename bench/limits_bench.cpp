// The hardware ceilings that bound rnnx's streaming step on this machine: how fast the core
// can issue FMAs, load from L1, stream from L2 and run bf16 dot products, and how long the
// W_hh pass and the activations of one LSTM(1->32) step take on their own. Rows:
//   fma_registers                  16 independent FMA chains on registers (xsimd's widest
//                                  batch: 512-bit with AVX-512) -> FMA/ns, GFLOP/s, MAC/ns
//   l1_loads_512, l1_loads_256     passes over a 16 KB array (fits L1), 8 independent float
//                                  add chains, each vaddps taking its operand from memory as
//                                  the pass's FMAs take their weights -> loads/ns, B/ns
//   l1_loads_512_unused            the same 512-bit loads with nothing using them (asm
//                                  vmovaps): the load ports' own ceiling, for comparison
//   l2_stream                      passes over 256 KB (LSTM(1->128)'s W_hh; L1 is 48 KB here)
//                                  with 512-bit loads (256-bit without AVX-512) -> B/ns
//   dpbf16_registers               16 independent vdpbf16ps chains -> instr/ns, MAC/ns, and
//                                  MAC_vs_fma: its MAC rate over fma_registers' (1 = as fast)
//   lstm32_matvec_pass/independent the W_hh pass of an LSTM(1->32) step,
//                                  kernels::accumulate_columns<float, 8, 32, 128> on a 16 KB
//                                  column-major matrix (256 FMAs with a memory operand, 32
//                                  broadcast loads), calls independent of each other
//   lstm32_matvec_pass/dependent   the same, each call's x written from the previous call's
//                                  sums ((a0 + a2) + (a4 + a6)) * 1e-3 + x0, as a step's h is:
//                                  the pass's latency, not its throughput
//   activation_chain/slices:1      one LSTM cell update on one register (16 units): four gate
//                                  inputs h * w + b (one FMA standing in for the matvec's last
//                                  dependency), simd::sigmoid / simd::tanh, c = f c + i g,
//                                  h = o tanh(c); the next update's gates depend on h: latency
//   activation_chain/slices:2      two independent slices interleaved: what the core overlaps
//
// Counters are per ns of CPU time and, so that no reader needs arithmetic, per cycle. There is
// no cycle counter to read, so the clock is inferred: GHz_inferred = fma_registers' median
// GFLOP/s / (2 FMA units x lanes x 2 flops) = GFLOP/s / 64 with AVX-512. It assumes two FMA
// units that fma_registers saturates (this Xeon has two 512-bit FMA ports; a core with one
// would show per-cycle values twice too high), so fma_registers' FMA/cycle is 2 by
// construction and every per-cycle counter is relative to it; the clock is the one the core
// runs one busy thread at (turbo). When fma_registers is filtered out, a 0.1 s run of the same
// kernel calibrates. Rows: X/ns and X/cycle rates, ns/Y and cycles/Y times, GHz_inferred.
// lstm32_matvec_pass also reports vs_fma_bound: cycles per pass over the 128 cycles its 256
// FMAs take at 2 per cycle (1 = FMA-bound), and loads/cycle (288 per pass: weights and
// broadcasts, not the 8 loads of acc) to compare with l1_loads_512. activation_chain's ns/update is
// per slice (slices:2 does two per round). The console shows rate counters with a "/s" or "s"
// suffix; the JSON holds the plain values, whose unit is in the counter's name.
//
// Work is kept: results pass through empty asm statements that claim to change the registers
// (opaque) and the array pointers (launder, so no load is hoisted out of a pass). Checked with
// `objdump -d --no-show-raw-insn -C` on the RNNX_NATIVE=ON build (g++ 12, AVX-512):
//   fma_registers: the inner loop is 16 vfmadd132ps zmm (register operands), no memory access
//   l1_loads_512: 8 vaddps zmm with a memory operand per loop trip, no register moves;
//                 l1_loads_256 the same with ymm; l2_stream runs l1_loads_512's function;
//                 l1_loads_512_unused 8 vmovaps zmm loads per trip
//   dpbf16_registers: 16 vdpbf16ps zmm (register operands) per trip
//   lstm32_matvec_pass: accumulate_columns is called out of line, as in rnnx_bench_step's
//                 LSTM(1->32) step: a loop of 10 trips x (3 vbroadcastss + 24 vfmadd231ps zmm
//                 with memory operands) plus 2 + 16 for the last two columns (256 FMAs, 32
//                 broadcasts), 8 zmm loads of acc in, 16 vaddps and 8 stores out, no spills;
//                 dependent adds 6 vaddps, 2 vfmadd and 2 zmm stores into x per call
//   activation_chain: per slice and update 5 vrangeps and 5 vrcp14ps (3 sigmoids, 2 tanh),
//                 no vdivps, no calls; w and b are reloaded from the stack (off the h chain)
// Run: rnnx_bench_limits --benchmark_min_time=0.2 --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <random>
#include <rnnx/kernels/matvec.hpp>
#include <rnnx/kernels/unroll.hpp>
#include <rnnx/simd/batch.hpp>
#include <rnnx/simd/math.hpp>
#include <string>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "bench_support.hpp"

namespace {

using rnnx::kernels::unroll;
using rnnx::simd::width;
using fbatch = rnnx::simd::batch<float>;

constexpr std::size_t lanes = width<float>;
constexpr double fma_units = 2.0;
constexpr double flops_per_cycle = fma_units * static_cast<double>(lanes) * 2.0;

/// Tells the compiler that r was read and changed, without moving it out of its register:
/// benchmark::DoNotOptimize would store a vector register to the stack.
template <class R>
inline void opaque(R& r) {
  if constexpr (requires { typename R::register_type; }) {
    auto reg = static_cast<typename R::register_type>(r);
    opaque(reg);
    r = R(reg);
  } else {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    asm volatile("" : "+v"(r));
#else
    benchmark::DoNotOptimize(r);
#endif
  }
}

/// A value the compiler can no longer follow. Not benchmark::DoNotOptimize: with g++ 12 its
/// "+m,r" operand let a float's stack slot be reused while the value was live (the
/// lstm32_matvec_pass scale came out as garbage; g++ has known trouble with "+m" asm
/// operands, e.g. gcc bug 92597).
template <class T>
inline void launder_value(T& v) {
#if defined(__GNUC__)
  asm volatile("" : "+r"(v));
#else
  benchmark::DoNotOptimize(v);
#endif
}

/// A pointer the compiler can no longer follow: loads through it cannot be hoisted.
template <class T>
inline T* launder(T* p) {
  launder_value(p);
  return p;
}

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// ---- FMA peak and the inferred clock ----------------------------------------------------

constexpr std::size_t fma_chains = lanes >= 16 ? 16 : 12;  // 12: room for a, b in 16 registers
constexpr std::size_t fma_rounds = 1024;

/// acc = acc * a + b on every chain, fma_rounds times; with a < 1 it converges to
/// b / (1 - a): no overflow and no denormals however long it runs.
inline void run_fma_chains(std::array<fbatch, fma_chains>& chains, fbatch a, fbatch b) {
  std::array<fbatch, fma_chains> acc;  // local: through the reference it could alias a and b
  rnnx::kernels::assign_registers(acc, chains);
  for (std::size_t i = 0; i < fma_rounds; ++i)
    unroll<fma_chains>([&](auto k) { acc[k] = rnnx::simd::fma(acc[k], a, b); });
  unroll<fma_chains>([&](auto k) { opaque(acc[k]); });
  rnnx::kernels::assign_registers(chains, acc);
}

/// fma_registers' runs: (CPU seconds, GFLOP/s).
struct fma_sample {
  double seconds, gflops;
};
std::vector<fma_sample>& fma_samples() {
  static std::vector<fma_sample> samples;
  return samples;
}

std::array<fbatch, fma_chains> fma_start(fbatch& a, fbatch& b) {
  a = fbatch(0.999f);
  b = fbatch(1e-3f);
  opaque(a);
  opaque(b);
  std::array<fbatch, fma_chains> acc;
  unroll<fma_chains>([&](auto k) { acc[k] = fbatch(static_cast<float>(k)); });
  return acc;
}

/// Median GFLOP/s of fma_registers' timed runs so far: those at least 0.8 times as long as the
/// longest, since Google Benchmark's first, short runs only size the iteration count (and may
/// catch the clock ramping up). A 0.1 s calibration run when fma_registers has not run.
double fma_gflops() {
  auto& samples = fma_samples();
  if (samples.empty()) {
    fbatch a, b;
    auto acc = fma_start(a, b);
    double calls = 0.0;
    const double start = cpu_seconds();
    while (cpu_seconds() - start < 0.1) {
      run_fma_chains(acc, a, b);
      calls += 1.0;
    }
    const double seconds = cpu_seconds() - start;
    samples.push_back({seconds, calls * fma_chains * fma_rounds * lanes * 2.0 * 1e-9 / seconds});
  }
  double longest = 0.0;
  for (const auto& s : samples) longest = std::max(longest, s.seconds);
  std::vector<double> timed;
  for (const auto& s : samples)
    if (s.seconds >= 0.8 * longest) timed.push_back(s.gflops);
  std::sort(timed.begin(), timed.end());
  const std::size_t n = timed.size();
  return n % 2 ? timed[n / 2] : 0.5 * (timed[n / 2 - 1] + timed[n / 2]);
}

double inferred_ghz() { return fma_gflops() / flops_per_cycle; }

/// `count` events of `what` over the run: what/ns and what/cycle.
void report_rate(benchmark::State& state, const std::string& what, double count) {
  const double ghz = inferred_ghz();
  state.counters[what + "/ns"] = benchmark::Counter(count * 1e-9, benchmark::Counter::kIsRate);
  state.counters[what + "/cycle"] =
      benchmark::Counter(count * 1e-9 / ghz, benchmark::Counter::kIsRate);
  state.counters["GHz_inferred"] = ghz;
}

/// `count` units `what` over the run: ns/what and cycles/what (kIsRate divides by the
/// seconds, kInvert takes the reciprocal).
void report_time(benchmark::State& state, const std::string& what, double count) {
  const auto inverse_rate = benchmark::Counter::kIsRate | benchmark::Counter::kInvert;
  const double ghz = inferred_ghz();
  state.counters["ns/" + what] = benchmark::Counter(count * 1e-9, inverse_rate);
  state.counters["cycles/" + what] = benchmark::Counter(count * 1e-9 / ghz, inverse_rate);
  state.counters["GHz_inferred"] = ghz;
}

void fma_registers(benchmark::State& state) {
  fbatch a, b;
  auto acc = fma_start(a, b);
  const double start = cpu_seconds();
  for (auto _ : state) run_fma_chains(acc, a, b);
  const double seconds = cpu_seconds() - start;
  const double fmas = static_cast<double>(state.iterations()) * fma_chains * fma_rounds;
  if (seconds > 0.0) fma_samples().push_back({seconds, fmas * lanes * 2.0 * 1e-9 / seconds});
  report_rate(state, "FMA", fmas);
  report_rate(state, "MAC", fmas * lanes);
  state.counters["GFLOP/s"] =
      benchmark::Counter(fmas * lanes * 2.0 * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(xsimd::default_arch::name()) + ", " + std::to_string(fma_chains) +
                 " chains");
}

// ---- loads from L1 and L2 ------------------------------------------------------------------

// Float registers of one width, added to straight from memory (as the FMAs of a matvec pass
// take their weights). Raw intrinsics in a struct: std::array<__m512> would drop the type's
// alignment attribute, and with xsimd's batch g++ 12 moved every accumulator to another
// register once per loop trip (8 extra uops per 8 loads).
#if defined(__AVX512F__)
struct zmm_loads {
  static constexpr std::size_t bytes = 64;
  __m512 v = _mm512_setzero_ps();
  void add(const float* p) { v = _mm512_add_ps(v, _mm512_load_ps(p)); }
};
#if defined(__GNUC__)
/// A 512-bit load nothing uses: the load ports' own ceiling (asm, or the compiler drops it).
struct zmm_bare_loads {
  static constexpr std::size_t bytes = 64;
  __m512 v = _mm512_setzero_ps();
  void add(const float* p) {
    __m512 loaded;
    asm volatile("vmovaps %1, %0" : "=v"(loaded) : "m"(*reinterpret_cast<const __m512*>(p)));
  }
};
#endif
#endif
#if defined(__AVX2__)
struct ymm_loads {
  static constexpr std::size_t bytes = 32;
  __m256 v = _mm256_setzero_ps();
  void add(const float* p) { v = _mm256_add_ps(v, _mm256_load_ps(p)); }
};
#endif

constexpr std::size_t load_chains = 8;

/// `passes` passes over data[0, n) into the add chains. Out of line with the chains copied to
/// locals: inlined into the benchmark loop, g++ kept them in memory between iterations and
/// added a register move per load.
template <class Loads>
[[gnu::noinline]] void add_passes(std::array<Loads, load_chains>& chains, const float* data,
                                  std::size_t n, std::size_t passes) {
  constexpr std::size_t per_load = Loads::bytes / sizeof(float);
  std::array<Loads, load_chains> acc = chains;
  for (std::size_t pass = 0; pass < passes; ++pass) {
    const float* p = launder(data);
    for (std::size_t i = 0; i < n; i += load_chains * per_load)
      unroll<load_chains>([&](auto k) { acc[k].add(p + i + k * per_load); });
  }
  unroll<load_chains>([&](auto k) { opaque(acc[k].v); });
  chains = acc;
}

/// `passes` passes over `bytes` of data per iteration, read with Loads into 8 add chains.
template <class Loads>
void load_passes(benchmark::State& state, std::size_t bytes, std::size_t passes) {
  constexpr std::size_t load_bytes = Loads::bytes;
  // Ones: the sums grow by at most 2^12 per pass and stop changing (rounding) long before
  // they could overflow; no denormals.
  rnnx::simd::aligned_vector<float> data(bytes / sizeof(float), 1.0f);
  std::array<Loads, load_chains> acc{};
  launder_value(passes);  // one add_passes for all: g++'s clone for passes = 1 had moves
  for (auto _ : state) add_passes(acc, data.data(), data.size(), passes);
  const double loads = static_cast<double>(state.iterations()) * static_cast<double>(passes) *
                       static_cast<double>(bytes / load_bytes);
  report_rate(state, "loads", loads);
  report_rate(state, "B", loads * load_bytes);
  state.counters["KB"] = static_cast<double>(bytes) / 1024.0;
}

constexpr std::size_t l1_bytes = 16 * 1024;
constexpr std::size_t l2_bytes = 256 * 1024;

void l1_loads_512(benchmark::State& state) {
#if defined(__AVX512F__)
  load_passes<zmm_loads>(state, l1_bytes, 16);
#else
  state.SkipWithError("needs AVX-512F");
#endif
}

void l1_loads_512_unused(benchmark::State& state) {
#if defined(__AVX512F__) && defined(__GNUC__)
  load_passes<zmm_bare_loads>(state, l1_bytes, 16);
#else
  state.SkipWithError("needs AVX-512F and GNU asm");
#endif
}

void l1_loads_256(benchmark::State& state) {
#if defined(__AVX2__)
  load_passes<ymm_loads>(state, l1_bytes, 16);
#else
  state.SkipWithError("needs AVX2");
#endif
}

void l2_stream(benchmark::State& state) {
#if defined(__AVX512F__)
  load_passes<zmm_loads>(state, l2_bytes, 1);
#elif defined(__AVX2__)
  load_passes<ymm_loads>(state, l2_bytes, 1);
#else
  state.SkipWithError("needs AVX2");
#endif
}

// ---- bf16 dot products ---------------------------------------------------------------------

void dpbf16_registers(benchmark::State& state) {
#if defined(__AVX512BF16__) && defined(__AVX512F__)
  constexpr std::size_t chains = 16;
  constexpr std::size_t rounds = 1024;
  constexpr double macs_per_instruction = 32;  // 16 lanes x a pair of bf16 products
  // acc grows by 2^-19 per instruction until it stops changing (rounding): no overflow,
  // no denormals.
  fbatch a_value(1.0f), b_value(1.0f / 1048576.0f);
  opaque(a_value);
  opaque(b_value);
  const __m512bh a = _mm512_cvtne2ps_pbh(a_value, a_value);
  const __m512bh b = _mm512_cvtne2ps_pbh(b_value, b_value);
  std::array<fbatch, chains> acc;
  unroll<chains>([&](auto k) { acc[k] = fbatch(0.0f); });
  for (auto _ : state) {
    for (std::size_t i = 0; i < rounds; ++i)
      unroll<chains>([&](auto k) { acc[k] = fbatch(_mm512_dpbf16_ps(acc[k], a, b)); });
    unroll<chains>([&](auto k) { opaque(acc[k]); });
  }
  const double instructions = static_cast<double>(state.iterations()) * chains * rounds;
  report_rate(state, "instr", instructions);
  report_rate(state, "MAC", instructions * macs_per_instruction);
  const double fma_macs_per_ns = fma_gflops() / 2.0;
  state.counters["MAC_vs_fma"] = benchmark::Counter(
      instructions * macs_per_instruction * 1e-9 / fma_macs_per_ns, benchmark::Counter::kIsRate);
#else
  state.SkipWithError("needs AVX512_BF16");
#endif
}

// ---- the W_hh pass of an LSTM(1->32) step --------------------------------------------------

template <bool Dependent>
void lstm32_matvec_pass(benchmark::State& state) {
  constexpr std::size_t rows = 128, cols = 32;  // 4 gates x 32 units, h of 32
  constexpr std::size_t regs = rows / lanes, x_regs = cols / lanes;
  static_assert(regs == 4 * x_regs);
  constexpr std::size_t passes = 16;
  rnnx::simd::aligned_vector<float> w(rows * cols), x(cols);
  std::mt19937 engine(rnnx_bench::seed);
  std::uniform_real_distribution<float> weight(-0.18f, 0.18f), input(-1.0f, 1.0f);  // 1/sqrt(32)
  for (float& v : w) v = weight(engine);
  for (float& v : x) v = input(engine);
  // x = sums * scale + x0 contracts (|sum| <= 4 * 32 * 0.18 |x|): x stays near x0, normal.
  std::array<fbatch, x_regs> x0;
  unroll<x_regs>([&](auto r) { x0[r] = rnnx::simd::load(x.data() + r * lanes); });
  fbatch scale(1e-3f);
  opaque(scale);
  for (auto _ : state) {
    for (std::size_t pass = 0; pass < passes; ++pass) {
      float* xp = launder(x.data());
      std::array<fbatch, regs> acc;
      rnnx::kernels::fill_registers(acc, fbatch(0.0f));
      rnnx::kernels::accumulate_columns<float, regs, cols, rows>(launder(w.data()), xp, acc);
      if constexpr (Dependent) {
        unroll<x_regs>([&](auto r) {
          const fbatch sum =
              (acc[r] + acc[r + x_regs]) + (acc[r + 2 * x_regs] + acc[r + 3 * x_regs]);
          rnnx::simd::store(xp + r * lanes, rnnx::simd::fma(sum, scale, x0[r]));
        });
      } else {
        unroll<regs>([&](auto k) { opaque(acc[k]); });
      }
    }
  }
  for (float v : x)
    if (!std::isfinite(v)) state.SkipWithError("x is not finite");
  const double calls = static_cast<double>(state.iterations()) * passes;
  constexpr double fmas = regs * cols;
  report_time(state, "pass", calls);
  report_rate(state, "FMA", calls * fmas);
  report_rate(state, "loads", calls * (fmas + cols));  // + the broadcasts of x
  // cycles per pass / (fmas / 2 units): kIsRate | kInvert gives seconds / value.
  state.counters["vs_fma_bound"] =
      benchmark::Counter(calls * (fmas / fma_units) * 1e-9 / inferred_ghz(),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---- one LSTM cell update's activations ----------------------------------------------------

template <std::size_t Slices>
void activation_chain(benchmark::State& state) {
  constexpr std::size_t updates = 64;
  std::mt19937 engine(rnnx_bench::seed);
  std::uniform_real_distribution<float> weight(-1.0f, 1.0f), bias(-0.5f, 0.5f);
  auto random_batch = [&](auto& dist) {
    alignas(64) std::array<float, lanes> v;
    for (float& e : v) e = dist(engine);
    return rnnx::simd::load(v.data());
  };
  std::array<fbatch, 4> w, b;  // gates i, f, g, o
  for (std::size_t gate = 0; gate < 4; ++gate) {
    w[gate] = random_batch(weight);
    b[gate] = random_batch(bias);
  }
  std::array<fbatch, Slices> h, c;
  for (std::size_t s = 0; s < Slices; ++s) {
    h[s] = random_batch(weight);
    c[s] = fbatch(0.0f);
  }
  for (auto _ : state) {
    for (std::size_t n = 0; n < updates; ++n) {
      unroll<Slices>([&](auto s) {
        const fbatch i = rnnx::simd::sigmoid(rnnx::simd::fma(h[s], w[0], b[0]));
        const fbatch f = rnnx::simd::sigmoid(rnnx::simd::fma(h[s], w[1], b[1]));
        const fbatch g = rnnx::simd::tanh(rnnx::simd::fma(h[s], w[2], b[2]));
        const fbatch o = rnnx::simd::sigmoid(rnnx::simd::fma(h[s], w[3], b[3]));
        c[s] = rnnx::simd::fma(f, c[s], i * g);
        h[s] = o * rnnx::simd::tanh(c[s]);
      });
    }
    unroll<Slices>([&](auto s) {
      opaque(h[s]);
      opaque(c[s]);
    });
  }
  for (std::size_t s = 0; s < Slices; ++s)
    if (xsimd::any(xsimd::isnan(h[s]))) state.SkipWithError("h is NaN");
  const double rounds = static_cast<double>(state.iterations()) * updates;
  report_time(state, "update", rounds * Slices);
  report_time(state, "round", rounds);
}

}  // namespace

// Registration order is run order: fma_registers first, so the clock every later row infers
// comes from its repetitions.
BENCHMARK(fma_registers);
BENCHMARK(l1_loads_512);
BENCHMARK(l1_loads_512_unused);
BENCHMARK(l1_loads_256);
BENCHMARK(l2_stream);
BENCHMARK(dpbf16_registers);
BENCHMARK_TEMPLATE(lstm32_matvec_pass, false)->Name("lstm32_matvec_pass/independent");
BENCHMARK_TEMPLATE(lstm32_matvec_pass, true)->Name("lstm32_matvec_pass/dependent");
BENCHMARK_TEMPLATE(activation_chain, 1)->Name("activation_chain/slices:1");
BENCHMARK_TEMPLATE(activation_chain, 2)->Name("activation_chain/slices:2");
