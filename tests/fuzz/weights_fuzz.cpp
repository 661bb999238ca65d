// libFuzzer target for every reader of rnnx's JSON files, run by scripts/fuzz: the typed
// weight loader (rnnx::load_weights_from_string), the dynamic one
// (rnnx::dynamic::network_from_string), rnnx::model_set and the state reader
// (rnnx::load_state_from_string). Beyond "no crash and no sanitizer report" it checks what
// docs/weights-format.md and docs/realtime.md promise for any input:
//   - the only exception is the reader's own (weights_error; state_error for states);
//   - a failed load leaves the model, the set or the state unchanged;
//   - a successful load saves and reloads bit-identically.
// Four model types cover every layer kind (embedding, peephole_lstm, dropout, layer_norm,
// gru_reset_before and bidirectional over each cell too), option and both scalar types;
// tests/fuzz/seeds holds valid files for each, so mutations start deep inside the format.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <ratio>
#include <rnnx/dynamic/dynamic.hpp>
#include <rnnx/io/weights.hpp>
#include <rnnx/layers/bidirectional.hpp>
#include <rnnx/layers/dense.hpp>
#include <rnnx/layers/dropout.hpp>
#include <rnnx/layers/embedding.hpp>
#include <rnnx/layers/gru.hpp>
#include <rnnx/layers/gru_reset_before.hpp>
#include <rnnx/layers/layer_norm.hpp>
#include <rnnx/layers/lstm.hpp>
#include <rnnx/layers/prelu.hpp>
#include <rnnx/layers/rnn.hpp>
#include <rnnx/network.hpp>
#include <rnnx/realtime/model_set.hpp>
#include <rnnx/realtime/state.hpp>
#include <string>
#include <string_view>

namespace {

using FloatNet = rnnx::network<rnnx::lstm<2, 3>, rnnx::dense<3, 2, rnnx::tanh>>;
using DoubleNet =
    rnnx::basic_network<double, rnnx::gru<1, 2>, rnnx::rnn<2, 2, rnnx::relu>,
                        rnnx::activation<2, rnnx::sigmoid>, rnnx::dense<2, 1, rnnx::softmax>>;
// The layers added later (seeds float_new_layers.json, double_bidirectional_cells.json).
using NewFloatNet =
    rnnx::network<rnnx::embedding<3, 2>, rnnx::peephole_lstm<2, 2>,
                  rnnx::dropout<2, std::ratio<1, 5>>, rnnx::layer_norm<2>,
                  rnnx::gru_reset_before<2, 2>, rnnx::bidirectional<rnnx::rnn<2, 1, rnnx::relu>>,
                  rnnx::dense<2, 2>>;
using BidirectionalDoubleNet =
    rnnx::basic_network<double, rnnx::bidirectional<rnnx::lstm<1, 1>>,
                        rnnx::bidirectional<rnnx::gru<2, 1>>,
                        rnnx::bidirectional<rnnx::peephole_lstm<2, 1>>,
                        rnnx::bidirectional<rnnx::gru_reset_before<2, 1>>>;

// prelu (one slope and one per feature) and elu (seed float_prelu_elu.json).
using PReluFloatNet = rnnx::network<rnnx::dense<2, 3, rnnx::elu>, rnnx::prelu<3, 3>, rnnx::prelu<3>,
                                    rnnx::activation<3, rnnx::elu>>;

template <class Net>
void check(std::string_view text) {
  // One model per type, kept across inputs: a load that changes it must be a valid file.
  static const auto model = std::make_unique<Net>();
  const auto before = std::make_unique<Net>(*model);
  const std::string before_text = rnnx::weights_to_string(*model);  // exact, -0.0 included
  try {
    rnnx::load_weights_from_string(*model, text);
  } catch (const rnnx::weights_error&) {
    // A failed load must leave the model unchanged, padding lanes (operator==) included.
    if (!(*model == *before) || rnnx::weights_to_string(*model) != before_text) std::abort();
    return;
  }
  const std::string saved = rnnx::weights_to_string(*model);
  auto again = std::make_unique<Net>();
  rnnx::load_weights_from_string(*again, saved);  // must not throw
  if (!(*again == *model) || rnnx::weights_to_string(*again) != saved) std::abort();
}

/// The dynamic loader: a weights_error, or a network that saves and reloads to the same text.
template <class T>
void check_dynamic(std::string_view text) {
  std::string saved;
  try {
    saved = rnnx::dynamic::weights_to_string(rnnx::dynamic::network_from_string<T>(text));
  } catch (const rnnx::weights_error&) {
    return;
  }
  if (rnnx::dynamic::weights_to_string(rnnx::dynamic::network_from_string<T>(saved)) != saved)
    std::abort();
}

/// model_set: a weights_error leaves the loaded model (type and weights) as it was.
void check_model_set(std::string_view text) {
  using set = rnnx::model_set<FloatNet, NewFloatNet>;
  static const auto models = [] {
    auto s = std::make_unique<set>();
    s->load_from_string(rnnx::weights_to_string(FloatNet{}));
    return s;
  }();
  const std::size_t active = models->active();
  try {
    models->load_from_string(text);
  } catch (const rnnx::weights_error&) {
    if (models->active() != active) std::abort();
  }
}

/// The state reader: a state_error leaves the state unchanged; a loaded state saves and
/// reloads to the same text.
template <class Net>
void check_state(std::string_view text) {
  static const auto model = std::make_unique<Net>();
  static auto state = model->initial_state();
  const std::string before = rnnx::state_to_string(*model, state);
  try {
    rnnx::load_state_from_string(*model, state, text);
  } catch (const rnnx::state_error&) {
    if (rnnx::state_to_string(*model, state) != before) std::abort();
    return;
  }
  const std::string saved = rnnx::state_to_string(*model, state);
  auto again = model->initial_state();
  rnnx::load_state_from_string(*model, again, saved);  // must not throw
  if (rnnx::state_to_string(*model, again) != saved) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check<FloatNet>(text);
  check<DoubleNet>(text);
  check<NewFloatNet>(text);
  check<BidirectionalDoubleNet>(text);
  check<PReluFloatNet>(text);
  check_dynamic<float>(text);
  check_dynamic<double>(text);
  check_model_set(text);
  check_state<FloatNet>(text);
  check_state<NewFloatNet>(text);
  return 0;
}
