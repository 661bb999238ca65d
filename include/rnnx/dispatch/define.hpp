#pragma once
// The translation unit of a dispatched model (rnnx/dispatch/model.hpp): the model type behind
// the common interface, and RNNX_DISPATCHED_MODEL, which defines its factory.
//
//   RNNX_DISPATCHED_MODEL(make_amp_model, rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>)
//
// defines std::unique_ptr<rnnx::dispatch::model> make_amp_model(). Compiled once, as any
// source, it makes the model for the instruction set of that compilation. Under
// rnnx_add_dispatched_sources (cmake/rnnxDispatch.cmake) the file is compiled once per
// instruction set: each compilation defines make_amp_model_<isa>, and the baseline's also
// make_amp_model, which picks the best variant the CPU runs (dispatch::make_best).
//
// It includes every streaming layer but none of training, seq2seq or xtensor, and with
// rnnx::io linked (`LINK rnnx::io`) no JSON code: each variant compiles only the model.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "rnnx/dispatch/model.hpp"
#include "rnnx/io/load_weights.hpp"  // the JSON reader compiled once with rnnx::io
#include "rnnx/io/save_weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/activation_functions.hpp"
#include "rnnx/layers/cifg_lstm.hpp"
#include "rnnx/layers/dense.hpp"
#include "rnnx/layers/dropout.hpp"
#include "rnnx/layers/embedding.hpp"
#include "rnnx/layers/gru.hpp"
#include "rnnx/layers/gru_reset_before.hpp"
#include "rnnx/layers/indrnn.hpp"
#include "rnnx/layers/layer_norm.hpp"
#include "rnnx/layers/light_gru.hpp"
#include "rnnx/layers/lstm.hpp"
#include "rnnx/layers/mgu.hpp"
#include "rnnx/layers/prelu.hpp"
#include "rnnx/layers/rnn.hpp"
#include "rnnx/network.hpp"
#include "rnnx/realtime/state_values.hpp"

namespace RNNX_NAMESPACE {

/// Net compiled for this translation unit's instruction set, with one stream's state.
template <class Net>
class dispatched_model final : public dispatch::model {
  static_assert(std::is_same_v<typename Net::scalar, float>,
                "rnnx::dispatched_model: dispatched models are single precision");
  static_assert(Net::streaming,
                "rnnx::dispatched_model: the model must run one step at a time (no "
                "bidirectional layer)");

 public:
  dispatch::instruction_set isa() const noexcept override {
    return dispatch::instruction_set::RNNX_ISA;
  }
  std::size_t input_size() const noexcept override { return Net::in_size; }
  std::size_t output_size() const noexcept override { return Net::out_size; }
  std::string description() const override { return Net::description(); }

  void load_weights(const std::filesystem::path& file) override { rnnx::load_weights(net_, file); }
  void save_weights(const std::filesystem::path& file) const override {
    rnnx::save_weights(net_, file);
  }

  void reset() noexcept override { state_.reset(); }
  void process(const float* inputs, float* outputs, std::size_t steps) noexcept override {
    for (std::size_t t = 0; t < steps; ++t) {
      const auto y = net_.step(
          std::span<const float, Net::in_size>(inputs + t * Net::in_size, Net::in_size), state_);
      std::copy(y.begin(), y.end(), outputs + t * Net::out_size);
    }
  }
  bool state_finite() const noexcept override { return rnnx::all_finite(net_, state_); }

 private:
  Net net_{};
  typename Net::state state_{};
};

}  // namespace RNNX_NAMESPACE

#define RNNX_DISPATCH_PASTE_DETAIL(a, b) a##_##b
#define RNNX_DISPATCH_PASTE(a, b) RNNX_DISPATCH_PASTE_DETAIL(a, b)

#define RNNX_DISPATCH_DEFINE(function, ...)                         \
  std::unique_ptr<rnnx::dispatch::model> function() {               \
    return std::make_unique<rnnx::dispatched_model<__VA_ARGS__>>(); \
  }

// The chooser refers to the other variants weakly: a variant the build left out (a compiler
// without AVX-512 flags, another architecture) is a null factory, not a link error.
#define RNNX_DISPATCH_CHOOSER(factory)                                          \
  [[gnu::weak]] std::unique_ptr<rnnx::dispatch::model> factory##_avx512_bf16(); \
  [[gnu::weak]] std::unique_ptr<rnnx::dispatch::model> factory##_avx512();      \
  [[gnu::weak]] std::unique_ptr<rnnx::dispatch::model> factory##_avx2();        \
  std::unique_ptr<rnnx::dispatch::model> factory() {                            \
    using rnnx::dispatch::instruction_set;                                      \
    return rnnx::dispatch::make_best(                                           \
        {{instruction_set::avx512_bf16, &factory##_avx512_bf16},                \
         {instruction_set::avx512, &factory##_avx512},                          \
         {instruction_set::avx2, &factory##_avx2}},                             \
        {instruction_set::RNNX_ISA, &RNNX_DISPATCH_PASTE(factory, RNNX_ISA)});  \
  }

#if defined(RNNX_DISPATCH_VARIANT)
static_assert(std::string_view(RNNX_STRINGIFY(RNNX_DISPATCH_VARIANT)) == rnnx::instruction_set,
              "rnnx: this variant's compiler flags do not give the instruction set it is named "
              "after (RNNX_DISPATCH_VARIANT against rnnx/isa.hpp's RNNX_ISA)");
#endif

#if !defined(RNNX_DISPATCH_VARIANT)
#define RNNX_DISPATCHED_MODEL(factory, ...) RNNX_DISPATCH_DEFINE(factory, __VA_ARGS__)
#elif defined(RNNX_DISPATCH_BASELINE)
#define RNNX_DISPATCHED_MODEL(factory, ...)                                 \
  RNNX_DISPATCH_DEFINE(RNNX_DISPATCH_PASTE(factory, RNNX_ISA), __VA_ARGS__) \
  RNNX_DISPATCH_CHOOSER(factory)
#else
#define RNNX_DISPATCHED_MODEL(factory, ...) \
  RNNX_DISPATCH_DEFINE(RNNX_DISPATCH_PASTE(factory, RNNX_ISA), __VA_ARGS__)
#endif
