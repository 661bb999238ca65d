// Streams a signal through a PyTorch-trained LSTM amp model one sample at a time, as an audio
// callback would, and checks it against PyTorch and against the system it was trained to emulate.
//
// Usage: streaming_demo [model.json [reference.json]] [--steps N]
// Files default to the ones next to this source (baked in by CMake); both come from
// examples/streaming/train_torch.py. --steps sets the length of the timed stream.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <rnnx/rnnx.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef RNNX_STREAMING_MODEL
#define RNNX_STREAMING_MODEL "model.json"
#endif
#ifndef RNNX_STREAMING_REFERENCE
#define RNNX_STREAMING_REFERENCE "reference.json"
#endif

namespace {

// Must match train_torch.py's AmpModel; a mismatch is reported by load_weights.
using AmpModel = rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>;

// float32 arithmetic in a different order than PyTorch's (fused, vectorised) differs by a few
// ulp per step; anything beyond this means the kernels or the loader are wrong.
constexpr double kTolerance = 1e-5;
constexpr double kSampleRate = 48000.0;
constexpr int kRepetitions = 7;

struct Options {
  std::filesystem::path model = RNNX_STREAMING_MODEL;
  std::filesystem::path reference = RNNX_STREAMING_REFERENCE;
  std::size_t timed_steps = 1'000'000;
};

struct Reference {
  std::vector<float> input, system_output, torch_output;
};

Options parse_arguments(int argc, char** argv) {
  Options options;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--steps") {
      char* end = nullptr;
      const long long steps = i + 1 < argc ? std::strtoll(argv[++i], &end, 10) : 0;
      if (end == nullptr || *end != '\0' || steps <= 0)
        throw std::invalid_argument("--steps needs a positive number of samples");
      options.timed_steps = static_cast<std::size_t>(steps);
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: %s [model.json [reference.json]] [--steps N]\n", argv[0]);
      std::exit(0);
    } else if (positional == 0) {
      options.model = arg;
      ++positional;
    } else if (positional == 1) {
      options.reference = arg;
      ++positional;
    } else {
      throw std::invalid_argument("unexpected argument '" + std::string(arg) + "'");
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

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// The inner loop is what a real-time audio callback runs: one step per sample, no allocation.
double nanoseconds_per_step(const AmpModel& model, const std::vector<float>& signal) {
  auto state = model.initial_state();
  float sink = 0;  // consumed below, so the compiler cannot drop the steps
  const auto start = std::chrono::steady_clock::now();
  for (const float x : signal) sink += model.step(x, state)[0];
  const auto stop = std::chrono::steady_clock::now();
  if (!std::isfinite(sink)) std::printf("  (non-finite output while timing)\n");
  return std::chrono::duration<double, std::nano>(stop - start).count() /
         static_cast<double>(signal.size());
}

int run(const Options& options) {
  // On the heap: the padded, aligned weights take 18 kB, more than a real-time thread's stack
  // should have to hold.
  auto model = std::make_unique<AmpModel>();
  rnnx::load_weights(*model, options.model);
  const Reference ref = load_reference(options.reference);

  std::printf("model      %s\n", AmpModel::description().c_str());
  std::printf("weights    %s\n", options.model.string().c_str());
  std::printf("reference  %s (%zu samples)\n\n", options.reference.string().c_str(),
              ref.input.size());

  auto state = model->initial_state();
  std::vector<float> output(ref.input.size());
  for (std::size_t n = 0; n < ref.input.size(); ++n)
    output[n] = model->step(ref.input[n], state)[0];

  std::printf("%8s %12s %12s %12s %12s\n", "sample", "input", "rnnx", "pytorch", "system");
  const std::size_t stride = std::max<std::size_t>(1, ref.input.size() / 8);
  for (std::size_t n = 0; n < ref.input.size(); n += stride)
    std::printf("%8zu %12.6f %12.6f %12.6f %12.6f\n", n, ref.input[n], output[n],
                ref.torch_output[n], ref.system_output[n]);

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
  std::printf("RMS error vs true system    %.5f (system output RMS %.3f, %.1f dB)\n", rms_error,
              rms_signal, 20 * std::log10(rms_error / rms_signal));

  // The reference input looped: a realistic signal, so the timing does not profit from, or pay
  // for, unusual values such as long runs of zeros that decay into denormals.
  std::vector<float> stream(options.timed_steps);
  for (std::size_t n = 0; n < stream.size(); ++n) stream[n] = ref.input[n % ref.input.size()];
  nanoseconds_per_step(*model, stream);  // warm-up: caches, page faults, clock ramp-up
  std::vector<double> timings;
  for (int r = 0; r < kRepetitions; ++r) timings.push_back(nanoseconds_per_step(*model, stream));
  const double ns = median(timings);
  const double budget_ns = 1e9 / kSampleRate;
  std::printf("\ntiming     median of %d streams of %zu samples, step() one sample at a time\n",
              kRepetitions, stream.size());
  std::printf("           %.1f ns/step (min %.1f, max %.1f)\n", ns,
              *std::min_element(timings.begin(), timings.end()),
              *std::max_element(timings.begin(), timings.end()));
  std::printf("           %.3gx real time at %.0f kHz (%.2f%% of one core)\n", budget_ns / ns,
              kSampleRate / 1000, 100 * ns / budget_ns);

  if (!(max_diff <= kTolerance)) {
    std::fflush(stdout);  // keep the verdict after the numbers when both go to one terminal
    std::fprintf(stderr, "\nFAIL: rnnx differs from PyTorch by %.3g > %.0e\n", max_diff,
                 kTolerance);
    return 1;
  }
  std::printf("\nOK: rnnx matches PyTorch within %.0e\n", kTolerance);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_arguments(argc, argv));
  } catch (const rnnx::weights_error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "streaming_demo: cannot load the model: %s\n", e.what());
    std::fprintf(stderr, "(regenerate it with examples/streaming/train_torch.py)\n");
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "streaming_demo: %s\n", e.what());
  }
  return 2;
}
