#pragma once
// Sample-rate correction: running a recurrent model trained at rate R0 at a rate R = k * R0.
//
// Recurrent layers learn dynamics per sample: at twice the rate, a state that fed back once per
// training sample now feeds back twice per the same stretch of time, and the model sounds (or
// controls) different. The correction RTNeural / NeuralAmpModeler users apply: every recurrent
// layer reads its own state from d = R / R0 samples ago instead of 1, its input from the
// current sample. For fractional d the state is interpolated linearly between the states
// floor(d) and floor(d) + 1 samples ago:
//
//   n = floor(d), a = d - n
//   state_in(t) = S(t - n) + a * (S(t - n - 1) - S(t - n))      (each value, in the scalar type)
//   S(t) = step(x(t), state_in(t))
//
// Each layer's update reads only its own previous state and its current input, so a ring
// buffer of whole network states (S(t - 1) ... S(t - MaxDelay)) implements it for every layer
// at once; states before the first step are the rest state (zeros, or the one given to reset).
// With d = 1 this is exactly the plain model.
//
//   rnnx::rate_corrected<Model, 4> corrected(model);   // fixed storage for 5 states
//   corrected.prepare(96000.0 / 48000.0);              // d = 2; throws if not in [1, 4]
//   for (...) out[i] = corrected.step(in[i])[0];       // noexcept, allocation-free

#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "rnnx/isa.hpp"
#include "rnnx/realtime/state.hpp"

namespace RNNX_NAMESPACE {

template <class Net, std::size_t MaxDelay>
class rate_corrected {
  static_assert(MaxDelay >= 1,
                "rnnx::rate_corrected<Net, MaxDelay>: MaxDelay (the largest rate ratio) must be "
                "at least 1");
  static_assert(Net::streaming,
                "rnnx::rate_corrected<Net, MaxDelay>: the network must stream one step at a "
                "time (a bidirectional layer cannot)");
  using T = typename Net::scalar;

 public:
  using scalar = T;
  using state = typename Net::state;
  static constexpr std::size_t in_size = Net::in_size;
  static constexpr std::size_t out_size = Net::out_size;
  static constexpr std::size_t max_delay = MaxDelay;

  /// Runs `model` (which must outlive this object) at rate ratio 1 until prepare says
  /// otherwise, from the zero state.
  explicit rate_corrected(const Net& model) noexcept : model_(&model) { reset(); }

  /// rate_ratio = run rate / training rate, in [1, MaxDelay]. Resets the history to zeros.
  /// Throws std::invalid_argument naming the ratio otherwise. Nothing allocates after this
  /// (nor anywhere: the states live in this object).
  void prepare(double rate_ratio) {
    if (!(rate_ratio >= 1.0 && rate_ratio <= static_cast<double>(MaxDelay)))  // NaN too
      throw std::invalid_argument(
          "rnnx::rate_corrected<" + Net::description() + ", " + std::to_string(MaxDelay) +
          ">::prepare: the rate ratio (run rate / training rate) must be in [1, " +
          std::to_string(MaxDelay) + "], found " + std::to_string(rate_ratio) +
          (rate_ratio > static_cast<double>(MaxDelay) ? " (raise MaxDelay)" : ""));
    ratio_ = rate_ratio;
    whole_ = static_cast<std::size_t>(std::floor(rate_ratio));
    fraction_ = static_cast<T>(rate_ratio - static_cast<double>(whole_));
    reset();
  }

  /// The history back to the zero state, as at the start of a stream.
  void reset() noexcept {
    for (auto& s : history_) s.reset();
    newest_ = 0;
  }
  /// The whole history set to `rest` (a rest state, or one restored with restore_state), as if
  /// the model had been at rest in it.
  void reset(const state& rest) noexcept {
    for (auto& s : history_) s = rest;
    newest_ = 0;
  }

  /// One time step at the run rate: reads x, returns the output (valid until the next step).
  std::span<const T, out_size> step(std::span<const T, in_size> x) noexcept {
    const std::size_t next = newest_ + 1 == slots ? 0 : newest_ + 1;
    state& s = history_[next];  // holds S(t - MaxDelay - 1), no longer needed
    s = history_[ago(whole_)];
    if (fraction_ != T(0)) {
      // A local copy: stores into the state could alias the member, which would keep the
      // loop from vectorising.
      const T a = fraction_;
      visit_state_pair<Net>(s, std::as_const(history_[ago(whole_ + 1)]),
                            [a](std::string_view, auto values, auto older) {
                              for (std::size_t j = 0; j < values.size(); ++j)
                                values[j] += a * (older[j] - values[j]);
                            });
    }
    newest_ = next;
    return model_->step(x, s);
  }
  /// Streaming a single-input model: corrected.step(sample)[0].
  std::span<const T, out_size> step(T x) noexcept requires(in_size == 1) {
    return step(std::span<const T, 1>(&x, 1));
  }

  /// The state after the last step (S(t)), with its output.
  const state& current() const noexcept { return history_[newest_]; }
  double rate_ratio() const noexcept { return ratio_; }

 private:
  static constexpr std::size_t slots = MaxDelay + 1;

  /// The slot of S(t - k), 1 <= k <= MaxDelay, while newest_ holds S(t - 1).
  std::size_t ago(std::size_t k) const noexcept { return (newest_ + slots + 1 - k) % slots; }

  const Net* model_;
  double ratio_ = 1.0;
  std::size_t whole_ = 1;
  T fraction_ = T(0);
  std::size_t newest_ = 0;
  std::array<state, slots> history_;
};

}  // namespace rnnx
