// Checks the rnnx amp LV2 plug-in as hosts run it, and times it.
//
// 1. A real host: writes a WAV (libsndfile, float samples), runs it through the plug-in with
//    lilv's lv2apply (LV2_PATH must reach the bundle), and compares the result bit for bit with
//    the same model run offline: both models at 48 kHz, and the trained one at 96 kHz against
//    the offline rnnx::rate_corrected run at ratio 2.
// 2. In process: loads the plug-in's .so as a host does (dlopen, lv2_descriptor) and counts heap
//    allocations (the counting operator new of tests/counting_allocator.hpp, which the
//    plug-in's calls reach) in run(), across a switch of the model port and an activate().
// 3. --bench: ns per sample of run() for each model and instruction set, and the share of the
//    real-time budget at 48 and 96 kHz (median of repeated streams).
//
// Usage: lv2_amp_check --plugin PATH/rnnx_amp.so [--lv2apply PATH] [--work-dir DIR]
//                      [--seconds S] [--bench] [--bench-seconds S]

#include <dlfcn.h>
#include <lv2/core/lv2.h>
#include <sndfile.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numbers>
#include <random>
#include <rnnx/realtime/denormal_guard.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../../tests/counting_allocator.hpp"
#include "amp_engine.hpp"
#include "example_support.hpp"

namespace {

namespace ex = rnnx_example;
using lv2_amp::model_choice;
using signal = std::vector<float>;

constexpr const char* kUri = "urn:rnnx:examples:lv2_amp";
constexpr std::uint32_t kBlock = 64;  // a typical host buffer

struct Options {
  std::filesystem::path plugin, lv2apply = "lv2apply", work_dir = ".";
  double seconds = 1.0;
  bool bench = false;
  double bench_seconds = 5.0;
};

Options parse_arguments(int argc, char** argv) {
  Options o;
  const auto positive = [](double x) { return x > 0 && x <= 600; };
  for (ex::Arguments args(argc, argv); args.next();) {
    const std::string_view arg = args.current();
    if (arg == "--plugin") {
      o.plugin = args.required_value();
    } else if (arg == "--lv2apply") {
      o.lv2apply = args.required_value();
    } else if (arg == "--work-dir") {
      o.work_dir = args.required_value();
    } else if (arg == "--seconds") {
      o.seconds = ex::parse_number(arg, args.value(), positive, "seconds in (0, 600]");
    } else if (arg == "--bench") {
      o.bench = true;
    } else if (arg == "--bench-seconds") {
      o.bench_seconds = ex::parse_number(arg, args.value(), positive, "seconds in (0, 600]");
    } else if (args.is_help()) {
      args.usage(
          "--plugin PATH/rnnx_amp.so [--lv2apply PATH] [--work-dir DIR] [--seconds S] "
          "[--bench] [--bench-seconds S]");
    } else {
      throw args.unexpected();
    }
  }
  if (o.plugin.empty()) throw std::invalid_argument("--plugin PATH/rnnx_amp.so is required");
  return o;
}

// Plucked notes through the amp's range: each a decaying tone with a few harmonics, some
// noise, then a stretch of silence (where a recurrent state decays towards denormals). Seeded;
// both sides of every comparison read the same samples, so the generator need not be portable.
signal guitar_like(double rate, double seconds) {
  const auto n = static_cast<std::size_t>(rate * seconds);
  signal x(n, 0.0f);
  std::mt19937 rng(20240617);
  std::uniform_real_distribution<double> noise(-0.01, 0.01);
  constexpr std::array<double, 4> notes = {82.41, 110.0, 196.0, 329.63};
  const std::size_t note_length = n / 5;  // four notes, then silence
  for (std::size_t k = 0; k < notes.size(); ++k) {
    for (std::size_t i = 0; i < note_length; ++i) {
      const double t = static_cast<double>(i) / rate;
      double tone = 0;
      for (int h = 1; h <= 4; ++h)
        tone += std::sin(2 * std::numbers::pi * notes[k] * h * t) / (h * h);
      x[k * note_length + i] = static_cast<float>(0.6 * std::exp(-3.0 * t) * tone + noise(rng));
    }
  }
  return x;
}

void write_wav(const std::filesystem::path& path, int rate, const signal& x) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;  // float samples: the bits reach the plug-in
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  if (file == nullptr)
    throw std::runtime_error("cannot write " + path.string() + ": " + sf_strerror(nullptr));
  const auto written = sf_writef_float(file, x.data(), static_cast<sf_count_t>(x.size()));
  sf_close(file);
  if (written != static_cast<sf_count_t>(x.size()))
    throw std::runtime_error("short write to " + path.string());
}

signal read_wav(const std::filesystem::path& path, int expected_rate) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr)
    throw std::runtime_error("cannot read " + path.string() + ": " + sf_strerror(nullptr));
  signal x(static_cast<std::size_t>(info.frames));
  const auto read = sf_readf_float(file, x.data(), info.frames);
  sf_close(file);
  if (info.channels != 1 || info.samplerate != expected_rate || read != info.frames)
    throw std::runtime_error(path.string() + ": expected one channel at " +
                             std::to_string(expected_rate) + " Hz, found " +
                             std::to_string(info.channels) + " at " +
                             std::to_string(info.samplerate) + " Hz");
  return x;
}

bool same_bits(const signal& a, const signal& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// "bit-identical over N samples", or where and by how much the signals part.
std::string compare(const signal& got, const signal& want) {
  if (same_bits(got, want)) return "bit-identical over " + std::to_string(got.size()) + " samples";
  if (got.size() != want.size())
    return "DIFFERENT lengths " + std::to_string(got.size()) + " and " +
           std::to_string(want.size());
  std::size_t first = got.size(), count = 0;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) == 0) continue;
    first = std::min(first, i);
    ++count;
    worst = std::max(worst, std::abs(double(got[i]) - want[i]));
  }
  char text[160];
  std::snprintf(text, sizeof text, "DIFFERENT: %zu samples differ, first at %zu, max |diff| %.3g",
                count, first, worst);
  return text;
}

signal offline(const lv2_amp::engine& engine, model_choice model, double ratio, const signal& x) {
  signal y(x.size());
  engine.render_offline(model, ratio, x.data(), y.data(), x.size());
  return y;
}

// ---- 1. lv2apply -----------------------------------------------------------------------------

struct host_case {
  const char* what;
  int rate;
  model_choice model;
};

int check_with_lv2apply(const Options& o, const lv2_amp::engine& engine) {
  std::filesystem::create_directories(o.work_dir);
  std::printf("lv2apply   %s (LV2_PATH=%s)\n", o.lv2apply.c_str(),
              std::getenv("LV2_PATH") ? std::getenv("LV2_PATH") : "(unset: the default path)");
  // 88.2 kHz: a fractional ratio (1.8375), so the correction interpolates between states.
  constexpr std::array<host_case, 4> cases = {
      host_case{"LSTM-32, 48 kHz", 48000, model_choice::trained_lstm32},
      host_case{"LSTM-64, 48 kHz", 48000, model_choice::widened_lstm64},
      host_case{"LSTM-32, 96 kHz", 96000, model_choice::trained_lstm32},
      host_case{"LSTM-64, 88.2 kHz", 88200, model_choice::widened_lstm64}};
  int status = 0;
  for (const host_case& c : cases) {
    const signal x = guitar_like(c.rate, o.seconds);
    const auto index = static_cast<std::size_t>(c.model);
    const std::string stem = std::to_string(c.rate) + "_model" + std::to_string(index);
    const auto in = o.work_dir / ("in_" + stem + ".wav");
    const auto out = o.work_dir / ("out_" + stem + ".wav");
    write_wav(in, c.rate, x);
    std::filesystem::remove(out);
    const std::string command =
        ex::shell_quote(o.lv2apply.string()) + " -i " + ex::shell_quote(in.string()) + " -o " +
        ex::shell_quote(out.string()) + " -c model " + std::to_string(index) + " " + kUri;
    if (!ex::run_command(command)) {
      status = ex::fail("FAIL: %s exited with an error\n", command.c_str());
      continue;
    }
    const signal y = read_wav(out, c.rate);
    const double ratio = lv2_amp::rate_ratio_for(c.rate);
    const signal want = offline(engine, c.model, ratio, x);
    const std::string verdict = compare(y, want);
    if (ratio == 1.0)
      std::printf("  %-18s vs offline model.step: %s\n", c.what, verdict.c_str());
    else
      std::printf("  %-18s vs offline rate_corrected, ratio %.5g: %s\n", c.what, ratio,
                  verdict.c_str());
    if (!same_bits(y, want)) status = ex::fail("FAIL: %s: %s\n", c.what, verdict.c_str());
    // The comparisons above must be able to fail: the port and the correction change the sound.
    const signal other = ratio == 1.0 ? offline(engine,
                                                c.model == model_choice::trained_lstm32
                                                    ? model_choice::widened_lstm64
                                                    : model_choice::trained_lstm32,
                                                1.0, x)
                                      : offline(engine, c.model, 1.0, x);
    if (same_bits(y, other))
      status = ex::fail("FAIL: %s: the output equals the %s\n", c.what,
                        ratio == 1.0 ? "other model's" : "uncorrected run's");
  }
  return status;
}

// ---- 2. in process: allocations in run() -------------------------------------------------------

// The plug-in as a host holds it: dlopen'd, entered through lv2_descriptor only.
class loaded_plugin {
 public:
  explicit loaded_plugin(const std::filesystem::path& so) {
    library_ = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library_ == nullptr) throw std::runtime_error(std::string("dlopen: ") + dlerror());
    const auto entry = reinterpret_cast<const LV2_Descriptor* (*)(std::uint32_t)>(
        dlsym(library_, "lv2_descriptor"));
    descriptor_ = entry != nullptr ? entry(0) : nullptr;
    if (descriptor_ == nullptr || std::string_view(descriptor_->URI) != kUri)
      throw std::runtime_error(so.string() + ": no lv2_descriptor(0) for " + kUri);
  }
  ~loaded_plugin() { dlclose(library_); }
  loaded_plugin(const loaded_plugin&) = delete;
  loaded_plugin& operator=(const loaded_plugin&) = delete;

  const LV2_Descriptor& descriptor() const { return *descriptor_; }

 private:
  void* library_ = nullptr;
  const LV2_Descriptor* descriptor_ = nullptr;
};

// One instance with its ports connected to buffers of this object.
class instance {
 public:
  instance(const LV2_Descriptor& d, double rate) : d_(d) {
    handle_ = d.instantiate(&d, rate, "", nullptr);
    if (handle_ == nullptr) return;
    d.connect_port(handle_, 0, in_.data());
    d.connect_port(handle_, 1, out_.data());
    d.connect_port(handle_, 2, &model_);
  }
  ~instance() {
    if (handle_ != nullptr) d_.cleanup(handle_);
  }
  instance(const instance&) = delete;
  instance& operator=(const instance&) = delete;

  explicit operator bool() const { return handle_ != nullptr; }
  void activate() { d_.activate(handle_); }

  // Block after block of x through run(), as a host's callback would; y gets the output.
  void stream(model_choice model, const float* x, float* y, std::size_t n) {
    model_ = static_cast<float>(model);
    for (std::size_t done = 0; done < n; done += kBlock) {
      const auto m = static_cast<std::uint32_t>(std::min<std::size_t>(kBlock, n - done));
      std::copy_n(x + done, m, in_.begin());
      d_.run(handle_, m);
      std::copy_n(out_.begin(), m, y + done);
    }
  }

 private:
  const LV2_Descriptor& d_;
  LV2_Handle handle_ = nullptr;
  std::array<float, kBlock> in_{}, out_{};
  float model_ = 0;
};

int check_in_process(const Options& o, const lv2_amp::engine& engine) {
  const loaded_plugin plugin(o.plugin);
  const signal x = guitar_like(48000, o.seconds);
  const std::size_t half = x.size() / 2 / kBlock * kBlock;
  signal y(x.size()), again(kBlock * 16);  // every buffer before counting starts

  rnnx_test::allocations = 0;
  rnnx_test::counting = true;
  instance amp(plugin.descriptor(), 48000);
  rnnx_test::counting = false;
  const long at_instantiate = rnnx_test::allocations;
  if (!amp) return ex::fail("FAIL: instantiate() returned null\n");
  amp.activate();

  rnnx_test::allocations = 0;
  rnnx_test::counting = true;
  amp.stream(model_choice::trained_lstm32, x.data(), y.data(), half);
  amp.stream(model_choice::widened_lstm64, x.data() + half, y.data() + half, x.size() - half);
  amp.activate();
  amp.stream(model_choice::widened_lstm64, x.data() + half, again.data(), again.size());
  rnnx_test::counting = false;
  const long in_run = rnnx_test::allocations;

  const signal first(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(half));
  const signal second(y.begin() + static_cast<std::ptrdiff_t>(half), y.end());
  const signal x_first(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(half));
  const signal x_second(x.begin() + static_cast<std::ptrdiff_t>(half), x.end());
  const signal want_second = offline(engine, model_choice::widened_lstm64, 1.0, x_second);
  const std::string before =
      compare(first, offline(engine, model_choice::trained_lstm32, 1.0, x_first));
  const std::string after = compare(second, want_second);
  const std::string reset =
      compare(again, signal(want_second.begin(), want_second.begin() + again.size()));
  std::printf("in process (dlopen, %u-sample blocks, 48 kHz)\n", kBlock);
  std::printf("  LSTM-32, then the port to LSTM-64: %s; %s (from rest at the switch)\n",
              before.c_str(), after.c_str());
  std::printf("  after activate(): %s (from rest)\n", reset.c_str());
  std::printf(
      "  heap: %ld allocations in instantiate() (the counter reaches the plug-in), "
      "%ld in %zu run() calls\n",
      at_instantiate, in_run, (x.size() + again.size()) / kBlock);
  std::printf("  denormal mode after run(): %s\n",
              rnnx::denormal_guard::active() ? "FLUSHING (not restored)" : "the host's, restored");

  int status = 0;
  if (before.rfind("bit-identical", 0) != 0 || after.rfind("bit-identical", 0) != 0 ||
      reset.rfind("bit-identical", 0) != 0)
    status = ex::fail("FAIL: run() in process differs from the offline models\n");
  if (at_instantiate == 0)
    status = ex::fail(
        "FAIL: the counting allocator saw nothing in instantiate(): it does not "
        "reach the plug-in, so its zero in run() would prove nothing\n");
  if (in_run != 0) status = ex::fail("FAIL: %ld heap allocations in run()\n", in_run);
  if (rnnx::denormal_guard::active())
    status = ex::fail("FAIL: run() left the thread flushing denormals\n");
  return status;
}

// ---- 3. --bench ------------------------------------------------------------------------------

void bench(const Options& o) {
  const loaded_plugin plugin(o.plugin);
  std::printf(
      "\nbench      run() in %u-sample blocks, %.0f s of audio per stream, median of 7 "
      "streams (after one warm-up)\n",
      kBlock, o.bench_seconds);
  std::printf("%-12s %-8s %-26s %12s %16s\n", "instruction", "rate", "model", "ns/sample",
              "share of budget");
  for (const char* isa : {"", "sse2", "avx2", "avx512", "avx512_bf16"}) {
    setenv("RNNX_DISPATCH_ISA", isa, 1);                  // "" is make_engine()'s own choice
    if (!instance(plugin.descriptor(), 48000)) continue;  // not built or not this CPU's
    for (const int rate : {48000, 96000}) {
      const signal x = guitar_like(rate, o.bench_seconds);
      signal y(x.size());
      for (const auto model : {model_choice::trained_lstm32, model_choice::widened_lstm64}) {
        instance amp(plugin.descriptor(), rate);
        amp.activate();
        std::vector<double> ns;
        for (int r = 0; r < 8; ++r) {
          const ex::Stopwatch watch;
          amp.stream(model, x.data(), y.data(), x.size());
          if (r > 0) ns.push_back(watch.seconds() * 1e9 / static_cast<double>(x.size()));
        }
        const double per_sample = ex::median(ns);
        std::printf("%-12s %2d kHz   %-26s %12.1f %16s\n", *isa ? isa : "(best)", rate / 1000,
                    model == model_choice::trained_lstm32 ? "lstm<1, 32> (trained)"
                                                          : "lstm<1, 64> (widened)",
                    per_sample, ex::percent(per_sample * rate / 1e9).c_str());
      }
    }
  }
  unsetenv("RNNX_DISPATCH_ISA");
}

int run(const Options& o) {
  const auto engine = lv2_amp::make_engine();
  std::printf("engine     %s code; models %s | %s\n", std::string(engine->isa()).c_str(),
              std::string(engine->model_name(model_choice::trained_lstm32)).c_str(),
              std::string(engine->model_name(model_choice::widened_lstm64)).c_str());
  int status = check_with_lv2apply(o, *engine);
  status |= check_in_process(o, *engine);
  if (o.bench) bench(o);
  if (status == 0)
    std::printf("\nOK: lv2apply output == offline rnnx (48 and 96 kHz), no allocation in run()\n");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  return ex::guarded_main("lv2_amp_check", [&] { return run(parse_arguments(argc, argv)); });
}
