#pragma once
// The plug-in's signal path behind an interface that is the same for every instruction set:
// amp_engine.cpp is compiled once per instruction set (rnnx_add_dispatched_sources), and
// make_engine() returns the best variant this CPU runs. The LV2 entry points (rnnx_amp.cpp)
// and the test driver are built for the baseline and see only this header, which includes no
// rnnx code whose layout depends on an instruction set.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>

namespace lv2_amp {

/// The rate both models were trained at.
inline constexpr double training_rate = 48000.0;
/// The largest host rate / training rate the correction handles (192 kHz for 48 kHz models).
inline constexpr double max_rate_ratio = 4.0;

/// The models the control port chooses from, in the port's order.
enum class model_choice : std::size_t { trained_lstm32 = 0, widened_lstm64 = 1 };
inline constexpr std::size_t model_count = 2;

/// The rate correction for a host rate: host / training, within what rnnx::rate_corrected
/// supports. Below the training rate there is no correction (ratio 1): the method only
/// stretches the state's memory, it cannot shorten it.
inline double rate_ratio_for(double host_rate) noexcept {
  return std::clamp(host_rate / training_rate, 1.0, max_rate_ratio);
}

class engine {
 public:
  virtual ~engine() = default;

  /// The instruction set this engine's code was compiled for ("avx2").
  virtual std::string_view isa() const noexcept = 0;
  /// The architecture of a model ("lstm<1, 32> -> dense<32, 1, identity>").
  virtual std::string_view model_name(model_choice model) const noexcept = 0;

  /// Both models' rate correction for a host rate (rate_ratio_for), their streams back to
  /// rest. Not for the audio thread (LV2's instantiate() calls it).
  virtual void set_sample_rate(double host_rate) = 0;
  virtual double rate_ratio() const noexcept = 0;

  /// Both models' streams back to rest (LV2's activate()). No allocation.
  virtual void reset() noexcept = 0;

  /// n samples through `model`, its state carried from call to call. A change of model starts
  /// the newly chosen one from rest. A state that went non-finite (a NaN from the host) is
  /// reset after the block. `in` may be `out`. No allocation, lock or exception: one branch
  /// on the model per call, then that model's own step loop.
  virtual void process(model_choice model, const float* in, float* out, std::size_t n) noexcept = 0;

  /// What the test compares the plug-in with: `model` over `in` from the zero state, written
  /// with rnnx's plain streaming calls (model.step at ratio 1, a fresh rnnx::rate_corrected
  /// otherwise), independent of process() and of the engine's state.
  virtual void render_offline(model_choice model, double rate_ratio, const float* in, float* out,
                              std::size_t n) const = 0;
};

/// The engine from the best instruction set this CPU runs (AVX-512, AVX2 + FMA or SSE2 on
/// x86-64). RNNX_DISPATCH_ISA=sse2 (or avx2, ...) picks one by name, as rnnx's dispatched
/// models do; std::runtime_error if the program has no code for it or the CPU cannot run it.
std::unique_ptr<engine> make_engine();

}  // namespace lv2_amp
