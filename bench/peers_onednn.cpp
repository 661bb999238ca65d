// oneDNN (Debian libdnnl-dev) in the peer comparison (bench/peers_common.hpp):
// onednn/<mode>/<cell>/H:<H>, the lstm_forward and lbr_gru_forward primitives (LBR GRU is
// PyTorch's GRU: the reset gate scales W_hn h + b_hn), forward_inference, f32, on one thread.
//   stream: a T = 1 primitive executed once per step, the state carried between two sets of
//           state buffers (src_iter of one step is dst_iter of the one before)
//   seq:    one T = 1000 primitive from the zero state
// and the batch cases of bench/peers_batch.hpp (onednn/<mode>/<cell>/H:<H>/B:<B>): the same
// primitives with batch B (stream: T = 1 with B carried states; seq: B sequences of T = 1000).
// Weights are given to the primitive in the layout it picks (format_tag::any, reordered once),
// the scratchpad is the user's, allocated once. The Dense(H -> 1) head is a plain dot product
// on dst_layer (oneDNN has no cheaper primitive for a 1 x H product).

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "peers_batch.hpp"

namespace {

using peers::cell;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using dims = dnnl::memory::dims;

/// b + <w, h> with 8 partial sums (H is a multiple of 8 here), so that the head is not one
/// long chain of dependent additions.
float head(const peers::weights& w, const float* h) {
  std::array<float, 8> part{};
  for (std::size_t u = 0; u + 8 <= w.hidden; u += 8)
    for (std::size_t k = 0; k < 8; ++k) part[k] += w.w_out[u + k] * h[u + k];
  float y = w.b_out;
  for (std::size_t u = w.hidden / 8 * 8; u < w.hidden; ++u) y += w.w_out[u] * h[u];
  return y + ((part[0] + part[1]) + (part[2] + part[3])) +
         ((part[4] + part[5]) + (part[6] + part[7]));
}

class onednn_model {
 public:
  onednn_model(const peers::weights& w, std::size_t steps, bool carry_state, std::size_t batch = 1)
      : w_(w), batch_(batch), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    const auto T = dnnl::memory::dim(steps), H = dnnl::memory::dim(w.hidden);
    const auto B = dnnl::memory::dim(batch);
    const dnnl::memory::dim G = dnnl::memory::dim(peers::gates(w.kind));
    const bool lstm = w.kind == cell::lstm;
    const dnnl::memory::desc src_md({T, B, 1}, dt::f32, tag::tnc);
    const dnnl::memory::desc dst_md({T, B, H}, dt::f32, tag::tnc);
    const dnnl::memory::desc iter_md =
        carry_state ? dnnl::memory::desc({1, 1, B, H}, dt::f32, tag::ldnc) : dnnl::memory::desc();
    const dnnl::memory::desc wl_md({1, 1, 1, G, H}, dt::f32, tag::any);
    const dnnl::memory::desc wi_md({1, 1, H, G, H}, dt::f32, tag::any);
    const dnnl::memory::desc bias_md({1, 1, lstm ? G : G + 1, H}, dt::f32, tag::ldgo);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto dir = dnnl::rnn_direction::unidirectional_left2right;
    const auto prop = dnnl::prop_kind::forward_inference;

    dnnl::memory::desc wl_chosen, wi_chosen, scratch_md;
    if (lstm) {
      const dnnl::lstm_forward::desc d(prop, dir, src_md, iter_md, iter_md, wl_md, wi_md, bias_md,
                                       dst_md, iter_md, iter_md);
      const dnnl::lstm_forward::primitive_desc pd(d, attr, engine_);
      primitive_ = dnnl::lstm_forward(pd);
      wl_chosen = pd.weights_layer_desc();
      wi_chosen = pd.weights_iter_desc();
      scratch_md = pd.scratchpad_desc();
      implementation_ = pd.impl_info_str();
    } else {
      const dnnl::lbr_gru_forward::desc d(prop, dir, src_md, iter_md, wl_md, wi_md, bias_md, dst_md,
                                          iter_md);
      const dnnl::lbr_gru_forward::primitive_desc pd(d, attr, engine_);
      primitive_ = dnnl::lbr_gru_forward(pd);
      wl_chosen = pd.weights_layer_desc();
      wi_chosen = pd.weights_iter_desc();
      scratch_md = pd.scratchpad_desc();
      implementation_ = pd.impl_info_str();
    }

    // PyTorch's row-major (G*H) x In / (G*H) x H weights into oneDNN's ldigo, gates mapped:
    // LSTM i, f, g, o = oneDNN's order; GRU oneDNN u, r, o = PyTorch z, r, n.
    auto torch_gate = [&](std::size_t g) -> std::size_t {
      return lstm ? g : (g == 0 ? 1 : g == 1 ? 0 : 2);
    };
    const std::size_t h = w.hidden, gates = peers::gates(w.kind);
    dnnl::memory wl_user({{1, 1, 1, G, H}, dt::f32, tag::ldigo}, engine_);
    dnnl::memory wi_user({{1, 1, H, G, H}, dt::f32, tag::ldigo}, engine_);
    auto* wl = static_cast<float*>(wl_user.get_data_handle());
    auto* wi = static_cast<float*>(wi_user.get_data_handle());
    for (std::size_t g = 0; g < gates; ++g)
      for (std::size_t o = 0; o < h; ++o) {
        const std::size_t row = torch_gate(g) * h + o;
        wl[g * h + o] = w.w_ih[row];
        for (std::size_t i = 0; i < h; ++i) wi[(i * gates + g) * h + o] = w.w_hh[row * h + i];
      }
    weights_layer_ = dnnl::memory(wl_chosen, engine_);
    weights_iter_ = dnnl::memory(wi_chosen, engine_);
    dnnl::reorder(wl_user, weights_layer_).execute(stream_, wl_user, weights_layer_);
    dnnl::reorder(wi_user, weights_iter_).execute(stream_, wi_user, weights_iter_);
    stream_.wait();

    bias_ = dnnl::memory(bias_md, engine_);
    auto* b = static_cast<float*>(bias_.get_data_handle());
    for (std::size_t g = 0; g < gates; ++g)
      for (std::size_t o = 0; o < h; ++o) {
        const std::size_t row = torch_gate(g) * h + o;
        // LBR GRU keeps b_hn apart (4th bias gate): it sits inside the reset product.
        b[g * h + o] = w.b_ih[row] + (!lstm && g == 2 ? 0.0f : w.b_hh[row]);
      }
    if (!lstm)
      for (std::size_t o = 0; o < h; ++o) b[3 * h + o] = w.b_hh[2 * h + o];

    src_ = dnnl::memory(src_md, engine_);
    dst_ = dnnl::memory(dst_md, engine_);
    scratchpad_ = dnnl::memory(scratch_md, engine_);
    std::unordered_map<int, dnnl::memory> common{{DNNL_ARG_SRC_LAYER, src_},
                                                 {DNNL_ARG_WEIGHTS_LAYER, weights_layer_},
                                                 {DNNL_ARG_WEIGHTS_ITER, weights_iter_},
                                                 {DNNL_ARG_BIAS, bias_},
                                                 {DNNL_ARG_DST_LAYER, dst_},
                                                 {DNNL_ARG_SCRATCHPAD, scratchpad_}};
    args_[0] = args_[1] = common;
    if (carry_state) {
      for (auto& s : state_) s = dnnl::memory(iter_md, engine_);
      args_[0][DNNL_ARG_SRC_ITER] = args_[1][DNNL_ARG_DST_ITER] = state_[0];
      args_[0][DNNL_ARG_DST_ITER] = args_[1][DNNL_ARG_SRC_ITER] = state_[1];
      if (lstm) {
        for (auto& s : cell_state_) s = dnnl::memory(iter_md, engine_);
        args_[0][DNNL_ARG_SRC_ITER_C] = args_[1][DNNL_ARG_DST_ITER_C] = cell_state_[0];
        args_[0][DNNL_ARG_DST_ITER_C] = args_[1][DNNL_ARG_SRC_ITER_C] = cell_state_[1];
      }
    }
    reset();
  }

  const std::string& implementation() const noexcept { return implementation_; }

  void reset() {
    for (auto* group : {&state_, &cell_state_})
      for (auto& m : *group)
        if (m) std::fill_n(static_cast<float*>(m.get_data_handle()), batch_ * w_.hidden, 0.0f);
    parity_ = 0;
  }

  /// Streaming: one step of the T = 1 primitive for the B streams (x, y: one value each).
  void step(const float* x, float* y) {
    std::copy_n(x, batch_, static_cast<float*>(src_.get_data_handle()));
    primitive_.execute(stream_, args_[parity_]);
    stream_.wait();
    parity_ ^= 1;
    const auto* hs = static_cast<const float*>(dst_.get_data_handle());
    for (std::size_t k = 0; k < batch_; ++k) y[k] = head(w_, hs + k * w_.hidden);
  }

  float step(float x) {
    float y = 0.0f;
    step(&x, &y);
    return y;
  }

  /// Sequence: the T-step primitive over xs (T x B) from the zero state; ys (T x B) every step.
  void forward(const std::vector<float>& xs, std::vector<float>& ys) {
    std::copy(xs.begin(), xs.end(), static_cast<float*>(src_.get_data_handle()));
    primitive_.execute(stream_, args_[0]);
    stream_.wait();
    const auto* hs = static_cast<const float*>(dst_.get_data_handle());
    for (std::size_t i = 0; i < xs.size(); ++i) ys[i] = head(w_, hs + i * w_.hidden);
  }

 private:
  const peers::weights& w_;
  std::size_t batch_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::primitive primitive_;
  dnnl::memory weights_layer_, weights_iter_, bias_, src_, dst_, scratchpad_;
  std::array<dnnl::memory, 2> state_, cell_state_;
  std::array<std::unordered_map<int, dnnl::memory>, 2> args_;
  int parity_ = 0;
  std::string implementation_;
};

void stream(benchmark::State& state, cell c, std::size_t h) {
  onednn_model model(peers::model_weights(c, h), 1, true);
  state.SetLabel(model.implementation());
  auto step = [&](float x) { return model.step(x); };
  if (!peers::verify_stream(state, c, h, step)) return;
  model.reset();
  peers::time_stream(state, c, h, step);
}

void sequence(benchmark::State& state, cell c, std::size_t h) {
  onednn_model model(peers::model_weights(c, h), peers::sequence_length, false);
  state.SetLabel(model.implementation());
  const std::vector<float> xs = peers::sequence_inputs();
  std::vector<float> ys(xs.size());
  model.forward(xs, ys);
  if (!peers::verify(state, c, h, ys)) return;
  peers::time_sequence(state, c, h, [&] {
    model.forward(xs, ys);
    benchmark::DoNotOptimize(ys.data());
  });
}

void batch_stream(benchmark::State& state, cell c, std::size_t h, std::size_t batch) {
  onednn_model model(peers::model_weights(c, h), 1, true, batch);
  state.SetLabel(model.implementation());
  peers::run_batch_stream(
      state, peers::model_stack(c, h), batch, [&](const float* x, float* y) { model.step(x, y); },
      [&] { model.reset(); });
}

void batch_sequence(benchmark::State& state, cell c, std::size_t h, std::size_t batch) {
  onednn_model model(peers::model_weights(c, h), peers::sequence_length, false, batch);
  state.SetLabel(model.implementation());
  peers::run_batch_sequence(
      state, peers::model_stack(c, h), batch,
      [&](const std::vector<float>& xs, std::vector<float>& ys) { model.forward(xs, ys); });
}

[[maybe_unused]] const bool added = [] {
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext(
      "onednn_version",
      std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  for (const std::string_view mode : peers::modes)
    for (const cell c : peers::cells)
      for (const std::size_t h : peers::hidden_sizes)
        peers::add("onednn", mode, c, h, [c, h, seq = mode == "seq"](benchmark::State& s) {
          seq ? sequence(s, c, h) : stream(s, c, h);
        });
  for (const std::string_view mode : peers::modes)
    for (const cell c : peers::cells)
      for (const std::size_t h : peers::batch_hidden_sizes)
        for (const std::size_t b : peers::batch_sizes)
          peers::add(
              "onednn", mode, c, h,
              [c, h, b, seq = mode == "seq"](benchmark::State& s) {
                seq ? batch_sequence(s, c, h, b) : batch_stream(s, c, h, b);
              },
              peers::batch_variant(b));
  return true;
}();

}  // namespace
