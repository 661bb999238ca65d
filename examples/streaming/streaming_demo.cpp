// Streams a signal through a PyTorch-trained LSTM amp model one sample at a time, as an audio
// callback would. The model is compiled in: AmpModel.hpp is generated at build time from the
// committed model.json by rnnx-codegen (rnnx_generate_header in CMakeLists.txt), so nothing is
// parsed or allocated at run time. The demo checks the model against PyTorch, against the
// system it was trained to emulate and against load_weights of the same file, then measures
// throughput, per-sample and per-block latency, and counts heap allocations in the loops.
//
// Usage: streaming_demo [--steps N] [--no-plot]
// --steps sets the length of each timed stream (default 1,000,000 samples). The reference
// signal comes from examples/streaming/train_torch.py (path baked in by CMake). With matplotlib,
// plot.py draws the signals and the latency histogram.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <rnnx/rnnx.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "AmpModel.hpp"  // generated from model.json at build time
#include "example_support.hpp"

#ifndef RNNX_STREAMING_MODEL
#define RNNX_STREAMING_MODEL "model.json"
#endif
#ifndef RNNX_STREAMING_REFERENCE
#define RNNX_STREAMING_REFERENCE "reference.json"
#endif
#ifndef RNNX_STREAMING_DIR
#define RNNX_STREAMING_DIR "."
#endif
#ifndef RNNX_STREAMING_OUT
#define RNNX_STREAMING_OUT "."
#endif

// The proof that streaming allocates nothing: every operator new of the process goes through
// here, and the loops below run with counting on. (A real-time thread must not allocate: the
// allocator may take a lock or ask the OS for memory.)
namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
}  // namespace

// malloc pairs with free by design; g++ cannot see through the replacement.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  if (g_counting) ++g_allocations;
  const auto a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

namespace ex = rnnx_example;
using amp::AmpModel;
using ex::Clock;

// float32 arithmetic in a different order than PyTorch's (fused, vectorised) differs by a few
// ulp per step; anything beyond this means the kernels or the loader are wrong.
constexpr double kTolerance = 1e-5;
constexpr double kSampleRate = 48000.0;
constexpr int kRepetitions = 7;
constexpr std::size_t kBlock = 64;  // a typical audio callback's buffer

// A plugin's model: static storage, filled from the header's constexpr arrays, no heap at all.
AmpModel g_model;

struct Reference {
  std::vector<float> input, system_output, torch_output;
};

struct Options {
  std::size_t steps = 1'000'000;
  bool plot = true;
};

Options parse_arguments(int argc, char** argv) {
  Options options;
  for (ex::Arguments args(argc, argv); args.next();) {
    const std::string_view arg = args.current();
    if (arg == "--steps") {
      const char* text = args.value();
      char* end = nullptr;
      const long long n = text ? std::strtoll(text, &end, 10) : 0;
      if (end == nullptr || *end != '\0' || n < static_cast<long long>(kBlock))
        throw std::invalid_argument("--steps needs a number of samples >= " +
                                    std::to_string(kBlock));
      options.steps = static_cast<std::size_t>(n);
    } else if (arg == "--no-plot") {
      options.plot = false;
    } else if (args.is_help()) {
      args.usage("[--steps N] [--no-plot]");
    } else {
      throw args.unexpected("unexpected argument", "(try --help)");
    }
  }
  return options;
}

Reference load_reference(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open reference '" + path.string() + "'");
  Reference ref;
  try {
    const nlohmann::json doc = nlohmann::json::parse(in);
    doc.at("input").get_to(ref.input);
    doc.at("system_output").get_to(ref.system_output);
    doc.at("torch_output").get_to(ref.torch_output);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("bad reference '" + path.string() + "': " + e.what());
  }
  if (ref.input.empty() || ref.system_output.size() != ref.input.size() ||
      ref.torch_output.size() != ref.input.size())
    throw std::runtime_error("reference '" + path.string() +
                             "': input, system_output and torch_output must be equally long");
  return ref;
}

template <class Model>
std::vector<float> stream(const Model& model, const std::vector<float>& input) {
  auto state = model.initial_state();
  std::vector<float> output(input.size());
  for (std::size_t n = 0; n < input.size(); ++n) output[n] = model.step(input[n], state)[0];
  return output;
}

// Quantile of already sorted values.
double quantile(const std::vector<double>& sorted, double q) {
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * double(sorted.size())))];
}

double ns(Clock::duration d) { return std::chrono::duration<double, std::nano>(d).count(); }

// The loops below are what a real-time audio thread runs; `out` is preallocated so that the
// output is consumed (the compiler cannot drop the steps) without allocating.

// Throughput: one clock reading per stream.
double nanoseconds_per_step(const std::vector<float>& in, std::vector<float>& out) {
  auto state = g_model.initial_state();
  const auto start = Clock::now();
  for (std::size_t n = 0; n < in.size(); ++n) out[n] = g_model.step(in[n], state)[0];
  return ns(Clock::now() - start) / static_cast<double>(in.size());
}

// Latency of each sample: one clock reading per sample, so each interval holds one step plus
// one reading (the overhead, measured separately with no step in between).
void per_sample(const std::vector<float>& in, std::vector<float>& out,
                std::vector<double>& latency) {
  auto state = g_model.initial_state();
  auto last = Clock::now();
  for (std::size_t n = 0; n < in.size(); ++n) {
    out[n] = g_model.step(in[n], state)[0];
    const auto now = Clock::now();
    latency[n] = ns(now - last);
    last = now;
  }
}

void clock_overhead(std::vector<double>& latency) {
  auto last = Clock::now();
  for (double& l : latency) {
    const auto now = Clock::now();
    l = ns(now - last);
    last = now;
  }
}

// One audio callback: kBlock samples, then the state checked once. A NaN or infinity from
// the host (or a denormal storm upstream) would stay in the recurrent state forever; a plug-in
// starts over from silence instead and counts it. Returns whether it reset.
bool process_block(const float* in, float* out, AmpModel::state& state) noexcept {
  for (std::size_t n = 0; n < kBlock; ++n) out[n] = g_model.step(in[n], state)[0];
  if (rnnx::all_finite(g_model, state)) return false;
  state = g_model.initial_state();
  return true;
}

// Latency of each 64-sample callback, the deadline an audio host actually sets.
std::size_t per_block(const std::vector<float>& in, std::vector<float>& out,
                      std::vector<double>& latency) {
  auto state = g_model.initial_state();
  std::size_t resets = 0;
  for (std::size_t b = 0; b < latency.size(); ++b) {
    const auto start = Clock::now();
    resets += process_block(in.data() + b * kBlock, out.data() + b * kBlock, state);
    latency[b] = ns(Clock::now() - start);
  }
  return resets;
}

// The recovery above at work: a block with a NaN sample poisons the state, the check resets
// it, and the next blocks are finite again. Whether that held.
bool recovers_from_a_nan(const std::vector<float>& in) {
  std::vector<float> block(in.begin(), in.begin() + kBlock), out(kBlock);
  block[kBlock / 2] = std::numeric_limits<float>::quiet_NaN();
  auto state = g_model.initial_state();
  const bool reset = process_block(block.data(), out.data(), state);
  const bool clean = !process_block(in.data(), out.data(), state) &&
                     std::all_of(out.begin(), out.end(), [](float y) { return std::isfinite(y); });
  std::printf("recovery   a NaN sample in a block: state %s, next block %s\n",
              reset ? "reset" : "NOT reset", clean ? "finite" : "NOT finite");
  return reset && clean;
}

// Counts per logarithmic bin, 10 per decade from 1 ns: a histogram that shows the rare outliers.
std::vector<std::size_t> log_histogram(const std::vector<double>& sorted_ns) {
  std::vector<std::size_t> counts(static_cast<std::size_t>(10 * std::log10(sorted_ns.back())) + 1);
  for (const double v : sorted_ns)
    ++counts[static_cast<std::size_t>(std::max(0.0, 10 * std::log10(std::max(v, 1.0))))];
  return counts;
}

void plot(const Reference& ref, const std::vector<float>& output,
          const std::vector<double>& sample_ns, const std::vector<double>& overhead_ns) {
  const std::filesystem::path out = RNNX_STREAMING_OUT;
  const nlohmann::json results = {{"input", ref.input},
                                  {"system", ref.system_output},
                                  {"torch", ref.torch_output},
                                  {"rnnx", output},
                                  {"step_ns_histogram", log_histogram(sample_ns)},
                                  {"clock_ns_histogram", log_histogram(overhead_ns)},
                                  {"bins_per_decade", 10}};
  std::ofstream(out / "streaming.json") << results.dump() << '\n';
  const std::string command =
      ex::python_command(RNNX_STREAMING_DIR "/plot.py",
                         {(out / "streaming.json").string(), (out / "streaming.png").string()});
  if (ex::draw_plot(command, "\n"))
    std::printf("\nplot       %s\n", (out / "streaming.png").string().c_str());
}

int run(const Options& options) {
  const std::size_t steps = options.steps;
  amp::fill_AmpModel(g_model);
  const Reference ref = load_reference(RNNX_STREAMING_REFERENCE);
  std::printf("model      %s\n", AmpModel::description().c_str());
  std::printf("           compiled in: AmpModel.hpp, generated at build time from %s\n",
              RNNX_STREAMING_MODEL);
  std::printf("           (SHA-256 %.16s...)\n", amp::AmpModel_source_sha256.data());
  std::printf("reference  %s (%zu samples)\n\n", RNNX_STREAMING_REFERENCE, ref.input.size());

  const std::vector<float> output = stream(g_model, ref.input);
  std::printf("%8s %12s %12s %12s %12s\n", "sample", "input", "rnnx", "pytorch", "system");
  const std::size_t stride = std::max<std::size_t>(1, ref.input.size() / 8);
  for (std::size_t n = 0; n < ref.input.size(); n += stride)
    std::printf("%8zu %12.6f %12.6f %12.6f %12.6f\n", n, ref.input[n], output[n],
                ref.torch_output[n], ref.system_output[n]);

  // The same file through the run-time loader: the generated header must give the same model.
  auto loaded = std::make_unique<AmpModel>();
  rnnx::load_weights(*loaded, RNNX_STREAMING_MODEL);
  const bool identical = stream(*loaded, ref.input) == output;

  double max_diff = 0, error_energy = 0, signal_energy = 0;
  for (std::size_t n = 0; n < output.size(); ++n) {
    max_diff = std::max(max_diff, std::abs(double(output[n]) - ref.torch_output[n]));
    const double error = double(output[n]) - ref.system_output[n];
    error_energy += error * error;
    signal_energy += double(ref.system_output[n]) * ref.system_output[n];
  }
  const double count = static_cast<double>(output.size());
  const double rms_error = std::sqrt(error_energy / count);
  const double rms_signal = std::sqrt(signal_energy / count);
  std::printf("\nmax |rnnx - pytorch|        %.3g (tolerance %.0e)\n", max_diff, kTolerance);
  std::printf("header vs load_weights      %s over %zu samples\n",
              identical ? "bit-identical outputs" : "DIFFERENT outputs", output.size());
  std::printf("RMS error vs true system    %.5f (system output RMS %.3f, %.1f dB)\n", rms_error,
              rms_signal, 20 * std::log10(rms_error / rms_signal));

  // The reference input looped: a realistic signal, so the timing does not profit from, or pay
  // for, unusual values such as long runs of zeros that decay into denormals. Every buffer is
  // allocated here, before counting starts.
  const std::size_t blocks = steps / kBlock;
  std::vector<float> in(steps), out(steps);
  for (std::size_t n = 0; n < steps; ++n) in[n] = ref.input[n % ref.input.size()];
  std::vector<double> throughput(kRepetitions), sample_ns(steps), overhead_ns(steps),
      block_ns(blocks);

  // The counter must see an allocation when there is one, or its zero below proves nothing.
  g_allocations = 0;
  g_counting = true;
  // (A called operator new, not a new-expression: the compiler may elide the latter.)
  ::operator delete(::operator new(sizeof(AmpModel::state)));
  g_counting = false;
  if (g_allocations != 1) throw std::logic_error("the counting operator new is not in use");

  g_allocations = 0;
  g_counting = true;
  nanoseconds_per_step(in, out);  // warm-up: caches, page faults, clock ramp-up
  for (double& t : throughput) t = nanoseconds_per_step(in, out);
  clock_overhead(overhead_ns);
  per_sample(in, out, sample_ns);
  const std::size_t resets = per_block(in, out, block_ns);
  g_counting = false;
  const long allocations = g_allocations;

  for (auto* v : {&throughput, &sample_ns, &overhead_ns, &block_ns})
    std::sort(v->begin(), v->end());
  const double per_step = quantile(throughput, 0.5);
  const double budget_ns = 1e9 / kSampleRate;  // one sample's time at 48 kHz
  const auto over = [](const std::vector<double>& sorted, double limit) {
    return sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), limit);
  };
  std::printf("\nstreaming  %zu samples per run, one step() per sample\n", steps);
  std::printf("throughput %.1f ns/sample (median of %d runs; min %.1f, max %.1f)\n", per_step,
              kRepetitions, throughput.front(), throughput.back());
  std::printf("           %.3gx real time at %.0f kHz (%.2f%% of one core)\n", budget_ns / per_step,
              kSampleRate / 1000, 100 * per_step / budget_ns);
  // The clock-only loop shows what the machine does to any code: its outliers are the OS's.
  std::printf(
      "latency    per sample, one steady_clock reading per sample (it includes that reading)\n");
  std::printf("%22s %10s %10s %12s %10s\n", "", "median", "99.9%", "worst", "> budget");
  std::printf("%22s %7.0f ns %7.0f ns %9.0f ns %10td  (budget %.1f us)\n", "step + clock",
              quantile(sample_ns, 0.5), quantile(sample_ns, 0.999), sample_ns.back(),
              over(sample_ns, budget_ns), budget_ns / 1e3);
  std::printf("%22s %7.0f ns %7.0f ns %9.0f ns %10td\n", "clock alone", quantile(overhead_ns, 0.5),
              quantile(overhead_ns, 0.999), overhead_ns.back(), over(overhead_ns, budget_ns));
  std::printf("%22s %7.2f us %7.2f us %9.2f us %10td  (budget %.0f us; %zu blocks)\n",
              ("block of " + std::to_string(kBlock)).c_str(), quantile(block_ns, 0.5) / 1e3,
              quantile(block_ns, 0.999) / 1e3, block_ns.back() / 1e3,
              over(block_ns, budget_ns * kBlock), budget_ns * kBlock / 1e3, blocks);
  std::printf(
      "heap       %ld allocations in all the timed loops above (counting operator new;\n"
      "           it counted the 1 allocation of a probe before them)\n",
      allocations);
  std::printf("state      checked after every block: %zu resets from a non-finite state\n", resets);
  const bool recovered = recovers_from_a_nan(in);

  if (options.plot) plot(ref, output, sample_ns, overhead_ns);

  int status = 0;
  if (!(max_diff <= kTolerance))
    status = ex::fail("FAIL: rnnx differs from PyTorch by %.3g > %.0e\n", max_diff, kTolerance);
  if (!identical)
    status = ex::fail("FAIL: the generated header and load_weights give different outputs\n");
  if (allocations != 0)
    status = ex::fail("FAIL: %ld heap allocations in the streaming loops\n", allocations);
  if (resets != 0 || !recovered)
    status = ex::fail("FAIL: the state went non-finite on the reference input, or a NaN "
                      "sample was not recovered from\n");
  if (status == 0)
    std::printf("\nOK: matches PyTorch within %.0e, header == load_weights, no allocation\n",
                kTolerance);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  return ex::guarded_main("streaming_demo", [&] {
    try {
      return run(parse_arguments(argc, argv));
    } catch (const rnnx::weights_error& e) {
      throw std::runtime_error(std::string("cannot load the model: ") + e.what() +
                               "\n(regenerate it with examples/streaming/train_torch.py)");
    }
  });
}
