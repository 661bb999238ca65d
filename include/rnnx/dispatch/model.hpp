#pragma once
// One program for every CPU it ships to: a typed model compiled once per instruction set
// (cmake/rnnx_dispatch.cmake compiles its translation unit for each), the best one this CPU
// runs chosen once when the model is created.
//
//   // amp_model.cpp: the model's own translation unit, compiled once per instruction set
//   #include <rnnx/dispatch/define.hpp>
//   RNNX_DISPATCHED_MODEL(make_amp_model, rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>)
//
//   // anywhere else (built for the baseline: no -march flags)
//   #include <rnnx/dispatch/model.hpp>
//   std::unique_ptr<rnnx::dispatch::model> make_amp_model();
//   auto amp = make_amp_model();          // AVX-512 code on an AVX-512 CPU, AVX2 on Zen 3, ...
//   amp->load_weights("amp.json");        // not on the audio thread
//   amp->process(in, out, frames);        // on it: one virtual call per block
//
// This header is the same in every instruction set's code: it declares nothing that depends
// on one (rnnx/isa.hpp), so a program built for the baseline includes it to drive models built
// for any.

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "rnnx/errors.hpp"

namespace rnnx::dispatch {

/// The instruction sets rnnx builds a model for, in the order of preference.
enum class instruction_set { generic, sse2, avx, avx2, avx512, avx512_bf16, neon64 };

inline constexpr std::string_view name(instruction_set s) noexcept {
  switch (s) {
    case instruction_set::generic:
      return "generic";
    case instruction_set::sse2:
      return "sse2";
    case instruction_set::avx:
      return "avx";
    case instruction_set::avx2:
      return "avx2";
    case instruction_set::avx512:
      return "avx512";
    case instruction_set::avx512_bf16:
      return "avx512_bf16";
    case instruction_set::neon64:
      return "neon64";
  }
  return "unknown";
}

/// Whether this CPU, and the operating system's saving of its registers, runs code built for
/// `s` (what cmake/rnnx_dispatch.cmake compiles each variant with: avx2 is AVX2 + FMA; avx512
/// is AVX-512 F, DQ, BW and VL; avx512_bf16 adds AVX512_BF16).
inline bool supported(instruction_set s) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  switch (s) {
    case instruction_set::generic:
      return true;
    case instruction_set::sse2:
      return __builtin_cpu_supports("sse2");
    case instruction_set::avx:
      return __builtin_cpu_supports("avx");
    case instruction_set::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case instruction_set::avx512:
      return avx512 && __builtin_cpu_supports("fma");
    case instruction_set::avx512_bf16:
      return avx512 && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx512bf16");
    case instruction_set::neon64:
      return false;
  }
  return false;
#elif defined(__aarch64__)
  return s == instruction_set::generic || s == instruction_set::neon64;
#else
  return s == instruction_set::generic;
#endif
}

/// A typed network compiled for one instruction set, behind an interface that is the same
/// for all of them. Single-precision models only. Streaming (process, reset) allocates
/// nothing, takes no lock and throws nothing.
class model {
 public:
  virtual ~model() = default;

  /// The instruction set this model's code was compiled for.
  virtual instruction_set isa() const noexcept = 0;
  /// Values per time step in and out.
  virtual std::size_t input_size() const noexcept = 0;
  virtual std::size_t output_size() const noexcept = 0;
  /// The architecture, as weight files and messages name it ("lstm<1, 32> -> dense<32, 1>").
  virtual std::string description() const = 0;

  /// Replaces the parameters with a weight file's (docs/weights-format.md). Throws
  /// rnnx::weights_error naming the problem; the model is unchanged then.
  virtual void load_weights(const std::filesystem::path& file) = 0;
  /// Writes the parameters (rnnx::save_weights: a whole new file or none).
  virtual void save_weights(const std::filesystem::path& file) const = 0;

  /// Back to the all-zero state.
  virtual void reset() noexcept = 0;
  /// `steps` streaming steps: inputs[t * input_size() + i] in, outputs[t * output_size() + o]
  /// out, the state carried from step to step and from call to call.
  virtual void process(const float* inputs, float* outputs, std::size_t steps) noexcept = 0;
  /// Whether every state value is finite (rnnx::all_finite).
  virtual bool state_finite() const noexcept = 0;
};

/// A function that makes a model compiled for one instruction set.
using factory = std::unique_ptr<model> (*)();

/// One instruction set's factory; null when the program holds no code for it.
struct variant {
  instruction_set isa;
  factory make;
};

/// The model from the first variant this CPU runs, else from `fallback` (the baseline's).
/// The environment variable RNNX_DISPATCH_ISA (say RNNX_DISPATCH_ISA=avx2) picks a variant by name
/// instead, to try each instruction set's code on one machine; it throws std::runtime_error, naming
/// what there is, if the program holds no such variant or this CPU cannot run it.
inline std::unique_ptr<model> make_best(std::initializer_list<variant> variants, variant fallback) {
  if (const char* wanted = std::getenv("RNNX_DISPATCH_ISA"); wanted != nullptr && *wanted != '\0') {
    std::string built;
    for (const variant& v : variants) {
      if (v.make == nullptr) continue;
      if (name(v.isa) == wanted) {
        if (!supported(v.isa))
          throw std::runtime_error(std::string("rnnx: RNNX_DISPATCH_ISA=") + wanted +
                                   ": this CPU cannot run that instruction set");
        return v.make();
      }
      built += std::string(name(v.isa)) + ", ";
    }
    if (name(fallback.isa) == wanted) return fallback.make();
    throw std::runtime_error(std::string("rnnx: RNNX_DISPATCH_ISA=") + wanted +
                             ": this program has no code for it; it has " + built +
                             std::string(name(fallback.isa)));
  }
  for (const variant& v : variants)
    if (v.make != nullptr && supported(v.isa)) return v.make();
  return fallback.make();
}

}  // namespace rnnx::dispatch
