// Eigen written by hand in the batch and extra-model cases (bench/peers_batch.hpp):
//   eigen/<mode>/<cell>/H:<H>/B:<B>          the B streams' states as the columns of H x B
//                                            matrices: one matrix-matrix product per layer and
//                                            step (W_hh H), as a competent batched version does
//   eigen/<mode>/lstm/H:128/In:16/Out:16,
//   eigen/<mode>/lstm/H:64/L:2               batch 1: the same code with one column (Eigen 3.4
//                                            runs a one-column product as a matrix-vector one)
// As in peers_eigen.cpp: dynamic-size matrices, PyTorch's row-major weights copied into Eigen's
// column-major ones, buffers allocated once, noalias() products, Eigen's vectorised exp / tanh.
// stream: one step of every layer, then the Dense head, per call. seq: layer after layer over
// the whole sequence, each layer's input projection (W_ih X + b) one product per chunk of
// steps (256 columns) before the recurrence over those steps, the head over all T * B columns
// in one product.
// The B x In inputs and B x Out outputs of peers_batch.hpp, stream after stream, are exactly
// Eigen's column-major In x B and Out x B, so they are mapped, not copied.

#include "peers_batch.hpp"
#include "peers_eigen.hpp"

namespace {

using Eigen::Index;
using Eigen::MatrixXf;
using Eigen::VectorXf;
using peers::cell;

using peers_eigen::sigmoid;
using peers_eigen::to_matrix;
using peers_eigen::to_vector;

/// One LSTM or GRU layer (PyTorch's equations) over B streams, its state H x B.
class layer {
 public:
  layer(const peers::recurrent_weights& w, Index batch)
      : kind_(w.kind),
        h_(Index(w.hidden)),
        batch_(batch),
        w_ih_(to_matrix(w.w_ih, peers::gates(w.kind) * w.hidden, w.in)),
        w_hh_(to_matrix(w.w_hh, peers::gates(w.kind) * w.hidden, w.hidden)),
        // LSTM: both biases add to the gates; GRU: b_hh stays apart, inside r * (W_hn h + b_hn).
        b_x_(kind_ == cell::lstm ? VectorXf(to_vector(w.b_ih) + to_vector(w.b_hh))
                                 : to_vector(w.b_ih)),
        b_h_(to_vector(w.b_hh)),
        xg_(w_ih_.rows(), batch),
        hg_(w_hh_.rows(), batch),
        n_(h_, batch),
        hs_(MatrixXf::Zero(h_, batch)),
        cs_(MatrixXf::Zero(h_, batch)) {}

  void reset() {
    hs_.setZero();
    cs_.setZero();
  }

  const MatrixXf& hidden() const noexcept { return hs_; }

  /// One step of the B streams from their inputs x (In x B).
  template <class X>
  void step(const X& x) {
    xg_.noalias() = w_ih_ * x;
    xg_.colwise() += b_x_;
    update(xg_);
  }

  /// The whole sequence from the zero state: xs In x (T * B) -> ys H x (T * B), column
  /// t * B + k for stream k at step t.
  template <class X>
  void forward(const X& xs, MatrixXf& ys) {
    reset();
    ys.resize(h_, xs.cols());
    const Index steps = xs.cols() / batch_;
    const Index chunk = std::max<Index>(1, projection_columns / batch_);
    for (Index t0 = 0; t0 < steps; t0 += chunk) {
      const Index n = std::min(chunk, steps - t0);
      projected_.noalias() = w_ih_ * xs.middleCols(t0 * batch_, n * batch_);
      projected_.colwise() += b_x_;
      for (Index t = 0; t < n; ++t) {
        update(projected_.middleCols(t * batch_, batch_));
        ys.middleCols((t0 + t) * batch_, batch_) = hs_;
      }
    }
  }

 private:
  /// Columns (steps x streams) projected per product: the whole sequence's projection
  /// (G*H x T*B, up to 131 MB at H = 256, B = 32) would go through memory; 256 columns (1 MB at
  /// most here) stay in cache and still make one large product.
  static constexpr Index projection_columns = 256;

  /// The state update from the projected inputs W_ih x + b (G*H x B).
  template <class Projected>
  void update(const Projected& xg) {
    hg_.noalias() = w_hh_ * hs_;
    if (kind_ == cell::lstm) {
      hg_ += xg;
      const auto i = sigmoid(hg_.topRows(h_).array());
      const auto f = sigmoid(hg_.middleRows(h_, h_).array());
      const auto g = hg_.middleRows(2 * h_, h_).array().tanh();
      const auto o = sigmoid(hg_.bottomRows(h_).array());
      cs_.array() = f * cs_.array() + i * g;
      hs_.array() = o * cs_.array().tanh();
    } else {
      hg_.colwise() += b_h_;
      const auto r = sigmoid(xg.topRows(h_).array() + hg_.topRows(h_).array());
      const auto z = sigmoid(xg.middleRows(h_, h_).array() + hg_.middleRows(h_, h_).array());
      n_.array() = (xg.bottomRows(h_).array() + r * hg_.bottomRows(h_).array()).tanh();
      hs_.array() = n_.array() + z * (hs_.array() - n_.array());
    }
  }

  cell kind_;
  Index h_, batch_;
  MatrixXf w_ih_, w_hh_;
  VectorXf b_x_, b_h_;
  MatrixXf xg_, hg_, n_, hs_, cs_, projected_;
};

/// The stack of peers_common.hpp: recurrent layers, then Dense(H -> Out), over B streams.
class stack_model {
 public:
  stack_model(const peers::stack& s, std::size_t batch)
      : in_(Index(s.in())),
        out_(Index(s.out)),
        batch_(Index(batch)),
        w_out_(to_matrix(s.w_out, s.out, s.hidden())),
        b_out_(to_vector(s.b_out)) {
    for (const auto& w : s.layers) layers_.emplace_back(w, batch_);
  }

  void reset() {
    for (auto& l : layers_) l.reset();
  }

  /// One step of the B streams: x B x In, y B x Out (stream after stream).
  void step(const float* x, float* y) {
    layers_.front().step(Eigen::Map<const MatrixXf>(x, in_, batch_));
    for (std::size_t k = 1; k < layers_.size(); ++k) layers_[k].step(layers_[k - 1].hidden());
    Eigen::Map<MatrixXf> ys(y, out_, batch_);
    ys.noalias() = w_out_ * layers_.back().hidden();
    ys.colwise() += b_out_;
  }

  /// B sequences from the zero state: xs T x B x In, ys T x B x Out.
  void forward(const std::vector<float>& xs, std::vector<float>& ys) {
    const Index columns = Index(xs.size()) / in_;
    layers_.front().forward(Eigen::Map<const MatrixXf>(xs.data(), in_, columns), hidden_[0]);
    for (std::size_t k = 1; k < layers_.size(); ++k)
      layers_[k].forward(hidden_[(k - 1) % 2], hidden_[k % 2]);
    Eigen::Map<MatrixXf> out(ys.data(), out_, columns);
    out.noalias() = w_out_ * hidden_[(layers_.size() - 1) % 2];
    out.colwise() += b_out_;
  }

 private:
  Index in_, out_, batch_;
  std::vector<layer> layers_;
  MatrixXf w_out_;
  VectorXf b_out_;
  std::array<MatrixXf, 2> hidden_;  // layer outputs over the sequence, alternating
};

void stream(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  stack_model model(s, batch);
  peers::run_batch_stream(
      state, s, batch, [&](const float* x, float* y) { model.step(x, y); }, [&] { model.reset(); });
}

void sequence(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  stack_model model(s, batch);
  peers::run_batch_sequence(
      state, s, batch,
      [&](const std::vector<float>& xs, std::vector<float>& ys) { model.forward(xs, ys); });
}

[[maybe_unused]] const bool added = [] {
  peers::add_stack_cases("eigen", stream, sequence);
  return true;
}();

}  // namespace
