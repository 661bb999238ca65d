// oneDNN (Debian libdnnl-dev) in the peer comparison (bench/peers_common.hpp):
// onednn/<mode>/<cell>/H:<H>, the lstm_forward and lbr_gru_forward primitives (LBR GRU is
// PyTorch's GRU: the reset gate scales W_hn h + b_hn), forward_inference, f32, on one thread.
//   stream: a T = 1 primitive executed once per step, the state carried between two sets of
//           state buffers (src_iter of one step is dst_iter of the one before)
//   seq:    one T = 1000 primitive from the zero state
// and the batch cases of bench/peers_batch.hpp (onednn/<mode>/<cell>/H:<H>/B:<B>): the same
// primitives with batch B (stream: T = 1 with B carried states; seq: B sequences of T = 1000),
// and its extra models at batch 1 (onednn/<mode>/lstm/H:128/In:16/Out:16: src_layer of 16
// channels; onednn/<mode>/lstm/H:64/L:2: two lstm_forward primitives, the second reading the
// first's dst_layer, since one 2-layer primitive needs In = H).
// Weights are given to the primitive in the layout it picks (format_tag::any, reordered once),
// the scratchpad is the user's, allocated once. The Dense(H -> Out) head is written by hand on
// dst_layer (dense_head).

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
float dot_head(const float* w, float b, const float* h, std::size_t hidden) {
  std::array<float, 8> part{};
  for (std::size_t u = 0; u + 8 <= hidden; u += 8)
    for (std::size_t k = 0; k < 8; ++k) part[k] += w[u + k] * h[u + k];
  float y = b;
  for (std::size_t u = hidden / 8 * 8; u < hidden; ++u) y += w[u] * h[u];
  return y + ((part[0] + part[1]) + (part[2] + part[3])) +
         ((part[4] + part[5]) + (part[6] + part[7]));
}

/// The Dense(H -> Out) head written by hand on dst_layer: Out = 1 a dot product (oneDNN has no
/// cheaper primitive for a 1 x H product), Out > 1 y += h_u * W^T_u over u with W transposed,
/// Out independent sums that the compiler vectorises.
class dense_head {
 public:
  explicit dense_head(const peers::stack& s)
      : hidden_(s.hidden()), out_(s.out), w_(s.w_out), w_t_(s.w_out.size()), b_(s.b_out) {
    for (std::size_t o = 0; o < out_; ++o)
      for (std::size_t u = 0; u < hidden_; ++u) w_t_[u * out_ + o] = w_[o * hidden_ + u];
  }

  /// y (rows x Out) from h (rows x H).
  void operator()(const float* h, float* y, std::size_t rows) const {
    for (std::size_t r = 0; r < rows; ++r, h += hidden_, y += out_) {
      if (out_ == 1) {
        *y = dot_head(w_.data(), b_[0], h, hidden_);
        continue;
      }
      std::copy(b_.begin(), b_.end(), y);
      for (std::size_t u = 0; u < hidden_; ++u)
        for (std::size_t o = 0; o < out_; ++o) y[o] += w_t_[u * out_ + o] * h[u];
    }
  }

 private:
  std::size_t hidden_, out_;
  std::vector<float> w_, w_t_, b_;
};

/// One recurrent layer (lstm_forward or lbr_gru_forward, forward_inference) over T steps of
/// B streams: src_layer T x B x In (the previous layer's dst_layer, or the model's input),
/// dst_layer T x B x H. With carry_state, two sets of state buffers swap roles every step
/// (src_iter of one step is dst_iter of the one before); without, the zero state.
class onednn_layer {
 public:
  onednn_layer(const dnnl::engine& engine, dnnl::stream& stream, const peers::recurrent_weights& w,
               std::size_t steps, std::size_t batch, bool carry_state, const dnnl::memory& src)
      : hidden_(w.hidden), batch_(batch) {
    const auto T = dnnl::memory::dim(steps), H = dnnl::memory::dim(w.hidden);
    const auto B = dnnl::memory::dim(batch), In = dnnl::memory::dim(w.in);
    const dnnl::memory::dim G = dnnl::memory::dim(peers::gates(w.kind));
    const bool lstm = w.kind == cell::lstm;
    const dnnl::memory::desc dst_md({T, B, H}, dt::f32, tag::tnc);
    const dnnl::memory::desc iter_md =
        carry_state ? dnnl::memory::desc({1, 1, B, H}, dt::f32, tag::ldnc) : dnnl::memory::desc();
    const dnnl::memory::desc wl_md({1, 1, In, G, H}, dt::f32, tag::any);
    const dnnl::memory::desc wi_md({1, 1, H, G, H}, dt::f32, tag::any);
    const dnnl::memory::desc bias_md({1, 1, lstm ? G : G + 1, H}, dt::f32, tag::ldgo);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto dir = dnnl::rnn_direction::unidirectional_left2right;
    const auto prop = dnnl::prop_kind::forward_inference;

    dnnl::memory::desc wl_chosen, wi_chosen, scratch_md;
    if (lstm) {
      const dnnl::lstm_forward::desc d(prop, dir, src.get_desc(), iter_md, iter_md, wl_md, wi_md,
                                       bias_md, dst_md, iter_md, iter_md);
      const dnnl::lstm_forward::primitive_desc pd(d, attr, engine);
      primitive_ = dnnl::lstm_forward(pd);
      wl_chosen = pd.weights_layer_desc();
      wi_chosen = pd.weights_iter_desc();
      scratch_md = pd.scratchpad_desc();
      implementation_ = pd.impl_info_str();
    } else {
      const dnnl::lbr_gru_forward::desc d(prop, dir, src.get_desc(), iter_md, wl_md, wi_md, bias_md,
                                          dst_md, iter_md);
      const dnnl::lbr_gru_forward::primitive_desc pd(d, attr, engine);
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
    const std::size_t h = w.hidden, in = w.in, gates = peers::gates(w.kind);
    dnnl::memory wl_user({{1, 1, In, G, H}, dt::f32, tag::ldigo}, engine);
    dnnl::memory wi_user({{1, 1, H, G, H}, dt::f32, tag::ldigo}, engine);
    auto* wl = static_cast<float*>(wl_user.get_data_handle());
    auto* wi = static_cast<float*>(wi_user.get_data_handle());
    for (std::size_t g = 0; g < gates; ++g)
      for (std::size_t o = 0; o < h; ++o) {
        const std::size_t row = torch_gate(g) * h + o;
        for (std::size_t i = 0; i < in; ++i) wl[(i * gates + g) * h + o] = w.w_ih[row * in + i];
        for (std::size_t i = 0; i < h; ++i) wi[(i * gates + g) * h + o] = w.w_hh[row * h + i];
      }
    dnnl::memory weights_layer(wl_chosen, engine), weights_iter(wi_chosen, engine);
    dnnl::reorder(wl_user, weights_layer).execute(stream, wl_user, weights_layer);
    dnnl::reorder(wi_user, weights_iter).execute(stream, wi_user, weights_iter);
    stream.wait();

    const dnnl::memory bias(bias_md, engine);
    auto* b = static_cast<float*>(bias.get_data_handle());
    for (std::size_t g = 0; g < gates; ++g)
      for (std::size_t o = 0; o < h; ++o) {
        const std::size_t row = torch_gate(g) * h + o;
        // LBR GRU keeps b_hn apart (4th bias gate): it sits inside the reset product.
        b[g * h + o] = w.b_ih[row] + (!lstm && g == 2 ? 0.0f : w.b_hh[row]);
      }
    if (!lstm)
      for (std::size_t o = 0; o < h; ++o) b[3 * h + o] = w.b_hh[2 * h + o];

    dst_ = dnnl::memory(dst_md, engine);
    std::unordered_map<int, dnnl::memory> common{
        {DNNL_ARG_SRC_LAYER, src},
        {DNNL_ARG_WEIGHTS_LAYER, weights_layer},
        {DNNL_ARG_WEIGHTS_ITER, weights_iter},
        {DNNL_ARG_BIAS, bias},
        {DNNL_ARG_DST_LAYER, dst_},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch_md, engine)}};
    args_[0] = args_[1] = common;
    if (carry_state) {
      for (auto& s : state_) s = dnnl::memory(iter_md, engine);
      args_[0][DNNL_ARG_SRC_ITER] = args_[1][DNNL_ARG_DST_ITER] = state_[0];
      args_[0][DNNL_ARG_DST_ITER] = args_[1][DNNL_ARG_SRC_ITER] = state_[1];
      if (lstm) {
        for (auto& s : cell_state_) s = dnnl::memory(iter_md, engine);
        args_[0][DNNL_ARG_SRC_ITER_C] = args_[1][DNNL_ARG_DST_ITER_C] = cell_state_[0];
        args_[0][DNNL_ARG_DST_ITER_C] = args_[1][DNNL_ARG_SRC_ITER_C] = cell_state_[1];
      }
    }
    reset();
  }

  const dnnl::memory& dst() const noexcept { return dst_; }
  const std::string& implementation() const noexcept { return implementation_; }

  void reset() {
    for (auto* group : {&state_, &cell_state_})
      for (auto& m : *group)
        if (m) std::fill_n(static_cast<float*>(m.get_data_handle()), batch_ * hidden_, 0.0f);
  }

  /// Queues the primitive; parity picks which state buffers are read and which written.
  void execute(dnnl::stream& stream, int parity) { primitive_.execute(stream, args_[parity]); }

 private:
  std::size_t hidden_, batch_;
  dnnl::primitive primitive_;
  dnnl::memory dst_;
  std::array<dnnl::memory, 2> state_, cell_state_;
  std::array<std::unordered_map<int, dnnl::memory>, 2> args_;
  std::string implementation_;
};

/// A peers::stack as one primitive per recurrent layer, each reading the previous one's
/// dst_layer (a single multi-layer primitive needs every layer's input size equal to H, which
/// LSTM(1 -> 64) + LSTM(64 -> 64) is not), then the hand-written head.
class onednn_model {
 public:
  onednn_model(const peers::stack& s, std::size_t steps, bool carry_state, std::size_t batch = 1)
      : batch_(batch), head_(s), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    src_ = dnnl::memory(
        {{dnnl::memory::dim(steps), dnnl::memory::dim(batch), dnnl::memory::dim(s.in())},
         dt::f32,
         tag::tnc},
        engine_);
    for (const auto& w : s.layers) {
      layers_.emplace_back(engine_, stream_, w, steps, batch, carry_state,
                           layers_.empty() ? src_ : layers_.back().dst());
      if (implementation_.find(layers_.back().implementation()) == std::string::npos)
        implementation_ += (implementation_.empty() ? "" : ", ") + layers_.back().implementation();
    }
    in_ = s.in();
  }

  const std::string& implementation() const noexcept { return implementation_; }

  void reset() {
    for (auto& l : layers_) l.reset();
    parity_ = 0;
  }

  /// Streaming: one step of the T = 1 primitives for the B streams (x B x In, y B x Out).
  void step(const float* x, float* y) {
    std::copy_n(x, batch_ * in_, static_cast<float*>(src_.get_data_handle()));
    for (auto& l : layers_) l.execute(stream_, parity_);
    stream_.wait();
    parity_ ^= 1;
    head_(static_cast<const float*>(layers_.back().dst().get_data_handle()), y, batch_);
  }

  float step(float x) {
    float y = 0.0f;
    step(&x, &y);
    return y;
  }

  /// Sequence: the T-step primitives over xs (T x B x In) from the zero state; ys T x B x Out.
  void forward(const std::vector<float>& xs, std::vector<float>& ys) {
    std::copy(xs.begin(), xs.end(), static_cast<float*>(src_.get_data_handle()));
    for (auto& l : layers_) l.execute(stream_, 0);
    stream_.wait();
    head_(static_cast<const float*>(layers_.back().dst().get_data_handle()), ys.data(),
          xs.size() / in_);
  }

 private:
  std::size_t batch_, in_ = 1;
  dense_head head_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory src_;
  std::vector<onednn_layer> layers_;
  int parity_ = 0;
  std::string implementation_;
};

void stream(benchmark::State& state, cell c, std::size_t h) {
  onednn_model model(peers::model_stack(c, h), 1, true);
  state.SetLabel(model.implementation());
  auto step = [&](float x) { return model.step(x); };
  if (!peers::verify_stream(state, c, h, step)) return;
  model.reset();
  peers::time_stream(state, c, h, step);
}

void sequence(benchmark::State& state, cell c, std::size_t h) {
  onednn_model model(peers::model_stack(c, h), peers::sequence_length, false);
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

/// The batch and extra-model cases: B streams of the stack s.
void batch_stream(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  onednn_model model(s, 1, true, batch);
  state.SetLabel(model.implementation());
  peers::run_batch_stream(
      state, s, batch, [&](const float* x, float* y) { model.step(x, y); }, [&] { model.reset(); });
}

void batch_sequence(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  onednn_model model(s, peers::sequence_length, false, batch);
  state.SetLabel(model.implementation());
  peers::run_batch_sequence(
      state, s, batch,
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
  peers::add_stack_cases("onednn", batch_stream, batch_sequence);
  return true;
}();

}  // namespace
