// The LV2 entry points of the rnnx amp plug-in (rnnx_amp.ttl describes its ports). Built for
// the x86-64 baseline like any plug-in that ships to other people's CPUs; the signal path is
// amp_engine.cpp, compiled per instruction set, chosen once in instantiate().

#include <lv2/core/lv2.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <rnnx/realtime/denormal_guard.hpp>

#include "amp_engine.hpp"

namespace {

constexpr const char* kUri = "urn:rnnx:examples:lv2_amp";

// The port indices of rnnx_amp.ttl.
enum port : std::uint32_t { audio_in = 0, audio_out = 1, model_port = 2 };

struct plugin {
  std::unique_ptr<lv2_amp::engine> engine;
  const float* in = nullptr;
  float* out = nullptr;
  const float* model = nullptr;
};

LV2_Handle instantiate(const LV2_Descriptor*, double sample_rate, const char*,
                       const LV2_Feature* const*) {
  // An exception must not cross into the host's C code: a null handle is LV2's "failed".
  try {
    auto self = std::make_unique<plugin>();
    self->engine = lv2_amp::make_engine();
    self->engine->set_sample_rate(sample_rate);
    return self.release();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot instantiate: %s\n", kUri, e.what());
    return nullptr;
  }
}

void connect_port(LV2_Handle handle, std::uint32_t index, void* data) {
  auto& self = *static_cast<plugin*>(handle);
  switch (index) {
    case audio_in:
      self.in = static_cast<const float*>(data);
      break;
    case audio_out:
      self.out = static_cast<float*>(data);
      break;
    case model_port:
      self.model = static_cast<const float*>(data);
      break;
    default:
      break;
  }
}

void activate(LV2_Handle handle) { static_cast<plugin*>(handle)->engine->reset(); }

// The audio thread: no allocation, no lock, no exception (amp_engine.hpp).
void run(LV2_Handle handle, std::uint32_t samples) {
  const auto& self = *static_cast<plugin*>(handle);
  if (self.in == nullptr || self.out == nullptr) return;
  // A host may send the port any float; the .ttl asks for 0 or 1, so round to the nearer.
  const auto model = self.model != nullptr && *self.model >= 0.5f
                         ? lv2_amp::model_choice::widened_lstm64
                         : lv2_amp::model_choice::trained_lstm32;
  // Silence decays the recurrent state into denormals, which cost some CPUs 10-100x per step.
  const rnnx::denormal_guard flush_denormals;
  self.engine->process(model, self.in, self.out, samples);
}

void cleanup(LV2_Handle handle) { delete static_cast<plugin*>(handle); }

const void* extension_data(const char*) { return nullptr; }

const LV2_Descriptor kDescriptor = {kUri, instantiate, connect_port, activate,
                                    run,  nullptr,     cleanup,      extension_data};

}  // namespace

extern "C" LV2_SYMBOL_EXPORT const LV2_Descriptor* lv2_descriptor(std::uint32_t index) {
  return index == 0 ? &kDescriptor : nullptr;
}
