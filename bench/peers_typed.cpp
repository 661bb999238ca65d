// rnnx typed models in the peer comparison (bench/peers_common.hpp): typed/<mode>/<cell>/H:<H>,
// rnnx::network<lstm<1, H>, dense<H, 1>> and rnnx::network<gru<1, H>, dense<H, 1>>, float,
// loaded from the shared weights through the weight file format.

#include <memory>
#include <rnnx/rnnx.hpp>
#include <utility>

#include "peers_common.hpp"

namespace {

using peers::cell;

template <cell C, std::size_t H>
using typed_model =
    std::conditional_t<C == cell::lstm, rnnx::network<rnnx::lstm<1, H>, rnnx::dense<H, 1>>,
                       rnnx::network<rnnx::gru<1, H>, rnnx::dense<H, 1>>>;

template <cell C, std::size_t H>
std::unique_ptr<typed_model<C, H>> load() {
  auto model = std::make_unique<typed_model<C, H>>();
  rnnx::load_weights_from_string(*model, peers::weights_json(peers::model_weights(C, H)));
  return model;
}

template <cell C, std::size_t H>
void stream(benchmark::State& state) {
  const auto model = load<C, H>();
  auto s = model->initial_state();
  auto step = [&](float x) { return model->step(x, s)[0]; };
  if (!peers::verify_stream(state, C, H, step)) return;
  s.reset();
  peers::time_stream(state, C, H, step);
}

template <cell C, std::size_t H>
void sequence(benchmark::State& state) {
  const auto model = load<C, H>();
  const std::vector<float> inputs = peers::sequence_inputs();
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({inputs.size(), 1});
  std::copy(inputs.begin(), inputs.end(), xs.begin());
  const xt::xtensor<float, 2> ys = model->forward(xs);
  if (!peers::verify(state, C, H, std::span<const float>(ys.data(), ys.size()))) return;
  peers::time_sequence(state, C, H, [&] {
    auto out = model->forward(xs);
    benchmark::DoNotOptimize(out.data());
  });
}

template <std::size_t... H>
bool add_all(std::index_sequence<H...>) {
  (peers::add("typed", "stream", cell::lstm, H, stream<cell::lstm, H>), ...);
  (peers::add("typed", "stream", cell::gru, H, stream<cell::gru, H>), ...);
  (peers::add("typed", "seq", cell::lstm, H, sequence<cell::lstm, H>), ...);
  (peers::add("typed", "seq", cell::gru, H, sequence<cell::gru, H>), ...);
  return true;
}

static_assert(peers::hidden_sizes == std::array<std::size_t, 6>{8, 16, 32, 64, 128, 256});
[[maybe_unused]] const bool added = add_all(std::index_sequence<8, 16, 32, 64, 128, 256>{});

}  // namespace
