// Eigen written by hand, as a user who "just writes it" would (bench/peers_common.hpp):
// eigen/<mode>/<cell>/H:<H>. Dynamic-size matrices (MatrixXf, PyTorch's row-major weights
// copied into Eigen's default column-major), buffers allocated once, noalias() products,
// Eigen's vectorised exp / tanh for the gates. The sequence mode projects all inputs in one
// matrix product (W_ih X + b_ih for the whole sequence) before the recurrence.

#include "peers_eigen.hpp"

#include "peers_common.hpp"

namespace {

using Eigen::MatrixXf;
using Eigen::RowVectorXf;
using Eigen::VectorXf;
using peers::cell;

using peers_eigen::sigmoid;
using peers_eigen::to_matrix;
using peers_eigen::to_vector;

/// LSTM(In -> H) + Linear(H -> 1), PyTorch's equations.
class lstm_model {
 public:
  explicit lstm_model(const peers::weights& w)
      : h_(Eigen::Index(w.hidden)),
        w_ih_(to_matrix(w.w_ih, 4 * w.hidden, 1)),
        w_hh_(to_matrix(w.w_hh, 4 * w.hidden, w.hidden)),
        b_(to_vector(w.b_ih) + to_vector(w.b_hh)),
        w_out_(to_matrix(w.w_out, 1, w.hidden)),
        b_out_(w.b_out),
        x_(1),
        gates_(4 * h_),
        h_state_(VectorXf::Zero(h_)),
        c_state_(VectorXf::Zero(h_)) {}

  void reset() {
    h_state_.setZero();
    c_state_.setZero();
  }

  float step(float x) {
    x_(0) = x;
    gates_.noalias() = w_ih_ * x_;
    gates_.noalias() += w_hh_ * h_state_;
    gates_ += b_;
    cell_update(gates_);
    return w_out_.dot(h_state_) + b_out_;
  }

  /// ys[t] for the whole sequence, from the zero state.
  void forward(const RowVectorXf& xs, RowVectorXf& ys) {
    reset();
    projected_.noalias() = w_ih_ * xs;  // 4H x T
    projected_.colwise() += b_;
    for (Eigen::Index t = 0; t < xs.size(); ++t) {
      gates_ = projected_.col(t);
      gates_.noalias() += w_hh_ * h_state_;
      cell_update(gates_);
      ys(t) = w_out_.dot(h_state_) + b_out_;
    }
  }

 private:
  void cell_update(const VectorXf& g) {
    const auto i = sigmoid(g.segment(0, h_).array());
    const auto f = sigmoid(g.segment(h_, h_).array());
    const auto gg = g.segment(2 * h_, h_).array().tanh();
    const auto o = sigmoid(g.segment(3 * h_, h_).array());
    c_state_.array() = f * c_state_.array() + i * gg;
    h_state_.array() = o * c_state_.array().tanh();
  }

  Eigen::Index h_;
  MatrixXf w_ih_, w_hh_;
  VectorXf b_;
  RowVectorXf w_out_;
  float b_out_;
  VectorXf x_, gates_, h_state_, c_state_;
  MatrixXf projected_;
};

/// GRU(In -> H) + Linear(H -> 1), PyTorch's equations (reset after the hidden product).
class gru_model {
 public:
  explicit gru_model(const peers::weights& w)
      : h_(Eigen::Index(w.hidden)),
        w_ih_(to_matrix(w.w_ih, 3 * w.hidden, 1)),
        w_hh_(to_matrix(w.w_hh, 3 * w.hidden, w.hidden)),
        b_ih_(to_vector(w.b_ih)),
        b_hh_(to_vector(w.b_hh)),
        w_out_(to_matrix(w.w_out, 1, w.hidden)),
        b_out_(w.b_out),
        x_(1),
        xg_(3 * h_),
        hg_(3 * h_),
        h_state_(VectorXf::Zero(h_)),
        n_(h_) {}

  void reset() { h_state_.setZero(); }

  float step(float x) {
    x_(0) = x;
    xg_.noalias() = w_ih_ * x_;
    xg_ += b_ih_;
    cell_update(xg_);
    return w_out_.dot(h_state_) + b_out_;
  }

  void forward(const RowVectorXf& xs, RowVectorXf& ys) {
    reset();
    projected_.noalias() = w_ih_ * xs;  // 3H x T
    projected_.colwise() += b_ih_;
    for (Eigen::Index t = 0; t < xs.size(); ++t) {
      xg_ = projected_.col(t);
      cell_update(xg_);
      ys(t) = w_out_.dot(h_state_) + b_out_;
    }
  }

 private:
  void cell_update(const VectorXf& xg) {
    hg_.noalias() = w_hh_ * h_state_;
    hg_ += b_hh_;
    const auto r = sigmoid(xg.segment(0, h_).array() + hg_.segment(0, h_).array());
    const auto z = sigmoid(xg.segment(h_, h_).array() + hg_.segment(h_, h_).array());
    n_.array() = (xg.segment(2 * h_, h_).array() + r * hg_.segment(2 * h_, h_).array()).tanh();
    h_state_.array() = n_.array() + z * (h_state_.array() - n_.array());
  }

  Eigen::Index h_;
  MatrixXf w_ih_, w_hh_;
  VectorXf b_ih_, b_hh_;
  RowVectorXf w_out_;
  float b_out_;
  VectorXf x_, xg_, hg_, h_state_, n_;
  MatrixXf projected_;
};

template <class Model>
void stream(benchmark::State& state, cell c, std::size_t h) {
  Model model(peers::model_weights(c, h));
  auto step = [&](float x) { return model.step(x); };
  if (!peers::verify_stream(state, c, h, step)) return;
  model.reset();
  peers::time_stream(state, c, h, step);
}

template <class Model>
void sequence(benchmark::State& state, cell c, std::size_t h) {
  Model model(peers::model_weights(c, h));
  const std::vector<float> inputs = peers::sequence_inputs();
  const RowVectorXf xs = Eigen::Map<const RowVectorXf>(inputs.data(), Eigen::Index(inputs.size()));
  RowVectorXf ys(xs.size());
  model.forward(xs, ys);
  if (!peers::verify(state, c, h, std::span<const float>(ys.data(), std::size_t(ys.size()))))
    return;
  peers::time_sequence(state, c, h, [&] {
    model.forward(xs, ys);
    benchmark::DoNotOptimize(ys.data());
  });
}

[[maybe_unused]] const bool added = [] {
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
  for (const std::size_t h : peers::hidden_sizes) {
    peers::add("eigen", "stream", cell::lstm, h,
               [h](benchmark::State& s) { stream<lstm_model>(s, cell::lstm, h); });
    peers::add("eigen", "stream", cell::gru, h,
               [h](benchmark::State& s) { stream<gru_model>(s, cell::gru, h); });
    peers::add("eigen", "seq", cell::lstm, h,
               [h](benchmark::State& s) { sequence<lstm_model>(s, cell::lstm, h); });
    peers::add("eigen", "seq", cell::gru, h,
               [h](benchmark::State& s) { sequence<gru_model>(s, cell::gru, h); });
  }
  return true;
}();

}  // namespace
