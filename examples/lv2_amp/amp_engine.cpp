// The plug-in's signal path, compiled once per instruction set (rnnx_add_dispatched_sources in
// CMakeLists.txt): the trained LSTM-32 amp model and the widened LSTM-64, both compiled in
// from headers that rnnx-codegen generates at build time, each behind its own
// rnnx::rate_corrected. Everything rnnx here lives in rnnx::<instruction set> (rnnx/isa.hpp);
// the engine class has internal linkage, so the variants cannot share any of its code.

#include <cstdlib>
#include <memory>
#include <rnnx/dispatch/model.hpp>
#include <rnnx/isa.hpp>
#include <rnnx/layers/dense.hpp>
#include <rnnx/layers/lstm.hpp>
#include <rnnx/network.hpp>
#include <rnnx/realtime/sample_rate.hpp>
#include <rnnx/realtime/state.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

// Generated from examples/streaming/model.json and the widened model (widen_model.py).
// Only fill_<Name>() is called: it takes the model by reference, so its linker name carries
// the instruction set; make_<Name>() does not, and the variants would share one copy of it.
#include "AmpLarge.hpp"
#include "AmpModel.hpp"
#include "amp_engine.hpp"

#if !defined(RNNX_DISPATCH_VARIANT)
#error \
    "amp_engine.cpp is built by rnnx_add_dispatched_sources (one compilation per instruction set)"
#endif
static_assert(std::string_view(RNNX_STRINGIFY(RNNX_DISPATCH_VARIANT)) == rnnx::instruction_set,
              "this variant's compiler flags do not give the instruction set it is named after");

namespace {

using lv2_amp::model_choice;
constexpr std::size_t kMaxDelay = static_cast<std::size_t>(lv2_amp::max_rate_ratio);
static_assert(static_cast<double>(kMaxDelay) == lv2_amp::max_rate_ratio);

// A model and its corrected stream; the stream points at the model, so a voice never moves
// (the engine that holds it lives on the heap, made once in instantiate()).
template <class Net>
struct voice {
  Net model{};
  rnnx::rate_corrected<Net, kMaxDelay> stream{model};

  voice() = default;
  voice(const voice&) = delete;
  voice& operator=(const voice&) = delete;

  void process(const float* in, float* out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) out[i] = stream.step(in[i])[0];
    // A NaN from the host would stay in the recurrent state for good: start over instead.
    if (!rnnx::all_finite(model, stream.current())) stream.reset();
  }
};

template <class Net>
void render(const Net& model, double rate_ratio, const float* in, float* out, std::size_t n) {
  if (rate_ratio == 1.0) {
    auto state = model.initial_state();
    for (std::size_t i = 0; i < n; ++i) out[i] = model.step(in[i], state)[0];
    return;
  }
  auto corrected = std::make_unique<rnnx::rate_corrected<Net, kMaxDelay>>(model);
  corrected->prepare(rate_ratio);
  for (std::size_t i = 0; i < n; ++i) out[i] = corrected->step(in[i])[0];
}

class amp_engine final : public lv2_amp::engine {
 public:
  amp_engine() {
    amp::fill_AmpModel(trained_.model);
    amp_large::fill_AmpLarge(widened_.model);
  }

  std::string_view isa() const noexcept override { return rnnx::instruction_set; }
  std::string_view model_name(model_choice model) const noexcept override {
    return model == model_choice::widened_lstm64 ? widened_name_ : trained_name_;
  }

  void set_sample_rate(double host_rate) override {
    ratio_ = lv2_amp::rate_ratio_for(host_rate);
    trained_.stream.prepare(ratio_);
    widened_.stream.prepare(ratio_);
  }
  double rate_ratio() const noexcept override { return ratio_; }

  void reset() noexcept override {
    trained_.stream.reset();
    widened_.stream.reset();
  }

  void process(model_choice model, const float* in, float* out, std::size_t n) noexcept override {
    if (model != active_) {
      // The other model's state is from before the switch, possibly long ago: rest is the
      // only state it can honestly start from.
      active_ = model;
      if (model == model_choice::widened_lstm64)
        widened_.stream.reset();
      else
        trained_.stream.reset();
    }
    if (model == model_choice::widened_lstm64)
      widened_.process(in, out, n);
    else
      trained_.process(in, out, n);
  }

  void render_offline(model_choice model, double rate_ratio, const float* in, float* out,
                      std::size_t n) const override {
    if (model == model_choice::widened_lstm64)
      render(widened_.model, rate_ratio, in, out, n);
    else
      render(trained_.model, rate_ratio, in, out, n);
  }

 private:
  voice<amp::AmpModel> trained_;
  voice<amp_large::AmpLarge> widened_;
  std::string trained_name_ = amp::AmpModel::description();
  std::string widened_name_ = amp_large::AmpLarge::description();
  double ratio_ = 1.0;
  model_choice active_ = model_choice::trained_lstm32;
};

}  // namespace

#define LV2_AMP_PASTE_DETAIL(a, b) a##_##b
#define LV2_AMP_PASTE(a, b) LV2_AMP_PASTE_DETAIL(a, b)
#define LV2_AMP_FACTORY LV2_AMP_PASTE(make_engine, RNNX_ISA)

namespace lv2_amp {

std::unique_ptr<engine> LV2_AMP_FACTORY() { return std::make_unique<amp_engine>(); }

#if defined(RNNX_DISPATCH_BASELINE)
// Weak: a variant the build left out (a compiler without AVX-512 flags, another
// architecture) is a null pointer here, not a link error.
[[gnu::weak]] std::unique_ptr<engine> make_engine_avx512_bf16();
[[gnu::weak]] std::unique_ptr<engine> make_engine_avx512();
[[gnu::weak]] std::unique_ptr<engine> make_engine_avx2();

std::unique_ptr<engine> make_engine() {
  using rnnx::dispatch::instruction_set;
  struct variant {
    instruction_set isa;
    std::unique_ptr<engine> (*make)();
  };
  const variant variants[] = {{instruction_set::avx512_bf16, &make_engine_avx512_bf16},
                              {instruction_set::avx512, &make_engine_avx512},
                              {instruction_set::avx2, &make_engine_avx2},
                              {instruction_set::RNNX_ISA, &LV2_AMP_FACTORY}};
  const char* wanted = std::getenv("RNNX_DISPATCH_ISA");
  const bool by_name = wanted != nullptr && *wanted != '\0';
  std::string built;
  for (const variant& v : variants) {
    if (v.make == nullptr) continue;
    const std::string_view name = rnnx::dispatch::name(v.isa);
    if (by_name && name != wanted) {
      built += (built.empty() ? "" : ", ") + std::string(name);
      continue;
    }
    if (rnnx::dispatch::supported(v.isa)) return v.make();
    if (by_name)
      throw std::runtime_error("lv2_amp: RNNX_DISPATCH_ISA=" + std::string(wanted) +
                               ": this CPU cannot run that instruction set");
  }
  throw std::runtime_error("lv2_amp: RNNX_DISPATCH_ISA=" + std::string(by_name ? wanted : "") +
                           ": this plug-in has no code for it; it has " + built);
}
#endif

}  // namespace lv2_amp
