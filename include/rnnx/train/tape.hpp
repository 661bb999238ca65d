#pragma once
// Backpropagation through time for a whole network over a mini-batch of sequences.
//
//   rnnx::tape<Model> tape;                          // buffers reused from batch to batch
//   xt::xtensor<float, 3> ys = tape.forward(model, xs);      // xs: batch x steps x in_size
//   xt::xtensor<float, 3> dxs = tape.backward(model, dys, grads);  // grads += dL/dparameters
//
// `grads` is a model of the same type (zero it with rnnx::zero). forward starts every sequence
// from the zero state, or continues `states` (one per sequence) and leaves the final states in
// them: truncated BPTT is forward + backward per chunk with the states carried, since backward
// never reaches past the chunk's first step.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/network.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

template <class Net, class Indices = std::make_index_sequence<Net::layer_count>>
struct layer_records;
template <class Net, std::size_t... I>
struct layer_records<Net, std::index_sequence<I...>> {
  using tapes = std::tuple<typename Net::template layer_type<I>::tape...>;
  using states = std::tuple<std::vector<typename Net::template layer_type<I>::state>...>;
  /// Padded values per row at each boundary: the input, then each layer's output.
  static constexpr std::array<std::size_t, Net::layer_count + 1> strides{
      simd::padded<typename Net::scalar>(Net::in_size),
      simd::padded<typename Net::scalar>(Net::template layer_type<I>::out_size)...};
};

}  // namespace detail

template <class Net>
class tape {
  using T = typename Net::scalar;
  using records = detail::layer_records<Net>;
  static constexpr std::size_t L = Net::layer_count;

 public:
  using model_type = Net;

  /// Many-to-many forward over xs (batch x steps x in_size) from the zero state, recorded.
  xt::xtensor<T, 3> forward(const Net& model, const xt::xtensor<T, 3>& xs) {
    load_inputs(xs);
    kernels::unroll<L>([&](auto i) {
      for (auto& s : std::get<i>(states_)) s.reset();
    });
    run_forward(model);
    return outputs();
  }

  /// The same, continuing `states` (one per sequence) and leaving the final states there.
  xt::xtensor<T, 3> forward(const Net& model, const xt::xtensor<T, 3>& xs,
                            std::span<typename Net::state> states) {
    load_inputs(xs);
    if (states.size() != batch_)
      throw std::invalid_argument(where("forward") + std::to_string(states.size()) +
                                  " states given for a batch of " + std::to_string(batch_) +
                                  " sequences");
    kernels::unroll<L>([&](auto i) {
      for (std::size_t b = 0; b < batch_; ++b)
        std::get<i>(states_)[b] = boost::hana::at_c<i>(states[b].layers);
    });
    run_forward(model);
    constexpr std::size_t out_stride = records::strides[L];
    for (std::size_t b = 0; b < batch_; ++b) {
      kernels::unroll<L>(
          [&](auto i) { boost::hana::at_c<i>(states[b].layers) = std::get<i>(states_)[b]; });
      std::copy_n(activations_[L].data() + ((steps_ - 1) * batch_ + b) * out_stride, out_stride,
                  states[b].output.data());
    }
    return outputs();
  }

  /// Backward through the recorded forward: adds dL/dparameters to grads and returns
  /// dL/dxs (batch x steps x in_size), given dys = dL/dys (batch x steps x out_size; zero
  /// where the loss does not look, e.g. all but the last step for many-to-one).
  xt::xtensor<T, 3> backward(const Net& model, const xt::xtensor<T, 3>& dys, Net& grads) {
    load_output_gradients(dys);
    run_backward(model, grads);
    xt::xtensor<T, 3> dxs = xt::xtensor<T, 3>::from_shape({batch_, steps_, Net::in_size});
    constexpr std::size_t in_stride = records::strides[0];
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t t = 0; t < steps_; ++t)
        for (std::size_t j = 0; j < Net::in_size; ++j)
          dxs(b, t, j) = gradients_[0][(t * batch_ + b) * in_stride + j];
    return dxs;
  }

  /// backward when the final states also feed a loss (an encoder's final state initialising a
  /// decoder): final_state_gradients[b] holds dL/d(final state) of sequence b in its layer
  /// states (its `output` is not read: that gradient belongs in dys' last step).
  xt::xtensor<T, 3> backward(const Net& model, const xt::xtensor<T, 3>& dys, Net& grads,
                             std::span<const typename Net::state> final_state_gradients) {
    if (final_state_gradients.size() != batch_)
      throw std::invalid_argument(where("backward") + std::to_string(final_state_gradients.size()) +
                                  " final state gradients given for a batch of " +
                                  std::to_string(batch_) + " sequences");
    if (recorded_)
      kernels::unroll<L>([&](auto i) {
        const auto& layer = model.template layer<i>();
        if constexpr (requires {
                        layer.give_final_state_gradients(std::get<decltype(i)::value>(tapes_),
                                                         nullptr, 0);
                      }) {
          auto& scratch = std::get<i>(states_);
          for (std::size_t b = 0; b < batch_; ++b)
            scratch[b] = boost::hana::at_c<i>(final_state_gradients[b].layers);
          layer.give_final_state_gradients(std::get<i>(tapes_), scratch.data(), batch_);
        }
      });
    return backward(model, dys, grads);
  }

  /// After backward: dL/d(initial state) of each sequence into out[b]'s layer states (zero for
  /// stateless layers; `output` is set to zero), e.g. to carry on into an encoder.
  void initial_state_gradients(const Net& model, std::span<typename Net::state> out) const {
    if (out.size() != batch_)
      throw std::invalid_argument(where("initial_state_gradients") + std::to_string(out.size()) +
                                  " states given for a batch of " + std::to_string(batch_) +
                                  " sequences");
    if (!backward_done_)
      throw std::logic_error(where("initial_state_gradients") + "no backward pass to read from");
    for (auto& s : out) s.reset();
    kernels::unroll<L>([&](auto i) {
      const auto& layer = model.template layer<i>();
      if constexpr (requires {
                      layer.initial_state_gradients(std::get<decltype(i)::value>(tapes_), nullptr,
                                                    0);
                    }) {
        std::vector<typename Net::template layer_type<i>::state> d(batch_);
        layer.initial_state_gradients(std::get<i>(tapes_), d.data(), batch_);
        for (std::size_t b = 0; b < batch_; ++b) boost::hana::at_c<i>(out[b].layers) = d[b];
      }
    });
  }

  /// backward without dL/dxs: what a training loop needs, saving the first layer's W^T d
  /// products.
  void backward_parameters(const Net& model, const xt::xtensor<T, 3>& dys, Net& grads) {
    load_output_gradients(dys);
    run_backward(model, grads, false);
  }

  /// Seeds the random streams of the layers that draw while training (dropout masks): layer i
  /// gets its own stream from (seed, i), so a run is reproducible.
  void seed(std::uint64_t value) {
    kernels::unroll<L>([&](auto i) {
      if constexpr (requires { std::get<decltype(i)::value>(tapes_).seed(value); }) {
        std::seed_seq sequence{static_cast<std::uint32_t>(value),
                               static_cast<std::uint32_t>(value >> 32),
                               static_cast<std::uint32_t>(i)};
        std::array<std::uint32_t, 2> words;
        sequence.generate(words.begin(), words.end());
        std::get<i>(tapes_).seed(std::uint64_t{words[0]} << 32 | words[1]);
      }
    });
  }

  /// The layers' random streams where they are now, one text per layer ("" for a layer that
  /// draws nothing): what a checkpoint keeps so that a resumed run draws the same masks.
  std::vector<std::string> random_state() const {
    std::vector<std::string> texts(L);
    kernels::unroll<L>([&](auto i) {
      if constexpr (requires { std::get<decltype(i)::value>(tapes_).generator; }) {
        std::ostringstream text;
        text << std::get<i>(tapes_).generator;
        texts[i] = text.str();
      }
    });
    return texts;
  }

  /// Puts back what random_state gave; throws std::invalid_argument, changing nothing, when
  /// the texts do not fit this network.
  void set_random_state(const std::vector<std::string>& texts) {
    if (texts.size() != L)
      throw std::invalid_argument(where("set_random_state") + std::to_string(texts.size()) +
                                  " random states given for " + std::to_string(L) + " layers");
    typename records::tapes restored = tapes_;
    kernels::unroll<L>([&](auto i) {
      if constexpr (requires { std::get<decltype(i)::value>(tapes_).generator; }) {
        std::istringstream text(texts[i]);
        text >> std::get<i>(restored).generator;
        if (text.fail() || !(text >> std::ws).eof())
          throw std::invalid_argument(where("set_random_state") + "layer " + std::to_string(i) +
                                      "'s random state is not one its generator wrote");
      } else if (!texts[i].empty()) {
        throw std::invalid_argument(where("set_random_state") + "layer " + std::to_string(i) +
                                    " draws no random numbers, but a state is given for it");
      }
    });
    tapes_ = std::move(restored);
  }

  std::size_t batch_size() const noexcept { return batch_; }
  std::size_t steps() const noexcept { return steps_; }

 private:
  static std::string where(const char* what) {
    return "rnnx::tape<" + Net::description() + ">::" + what + ": ";
  }

  void load_inputs(const xt::xtensor<T, 3>& xs) {
    const auto& shape = xs.shape();
    if (shape[2] != Net::in_size)
      throw std::invalid_argument(where("forward") + "input has " + std::to_string(shape[2]) +
                                  " features per step, the first layer expects " +
                                  std::to_string(Net::in_size));
    if (shape[0] == 0) throw std::invalid_argument(where("forward") + "empty batch (0 sequences)");
    if (shape[1] == 0) throw std::invalid_argument(where("forward") + "empty sequences (0 steps)");
    recorded_ = false;
    backward_done_ = false;
    batch_ = shape[0];
    steps_ = shape[1];
    const std::size_t rows = batch_ * steps_;
    for (std::size_t k = 0; k <= L; ++k) {
      grow(activations_[k], rows * records::strides[k]);
      grow(gradients_[k], rows * records::strides[k]);
    }
    kernels::unroll<L>([&](auto i) {
      std::get<i>(tapes_).prepare(batch_, steps_);
      std::get<i>(states_).resize(batch_);
    });
    constexpr std::size_t in_stride = records::strides[0];
    T* x = activations_[0].data();
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t t = 0; t < steps_; ++t) {
        T* row = x + (t * batch_ + b) * in_stride;
        for (std::size_t j = 0; j < Net::in_size; ++j) {
          const T v = xs(b, t, j);
          if (const auto problem = detail::input_problem<typename Net::template layer_type<0>>(v);
              !problem.empty())
            throw std::invalid_argument(where("forward") + std::string(problem) + " (" +
                                        std::to_string(v) + ") at sequence " + std::to_string(b) +
                                        ", step " + std::to_string(t) + ", feature " +
                                        std::to_string(j));
          row[j] = v;
        }
        std::fill(row + Net::in_size, row + in_stride, T(0));
      }
  }

  void run_forward(const Net& model) {
    kernels::unroll<L>([&](auto i) {
      model.template layer<i>().forward_train(activations_[i].data(), batch_, steps_,
                                              std::get<i>(states_).data(), std::get<i>(tapes_),
                                              activations_[i + 1].data());
    });
    recorded_ = true;
  }

  xt::xtensor<T, 3> outputs() const {
    constexpr std::size_t out_stride = records::strides[L];
    xt::xtensor<T, 3> ys = xt::xtensor<T, 3>::from_shape({batch_, steps_, Net::out_size});
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t t = 0; t < steps_; ++t)
        for (std::size_t j = 0; j < Net::out_size; ++j)
          ys(b, t, j) = activations_[L][(t * batch_ + b) * out_stride + j];
    return ys;
  }

  void load_output_gradients(const xt::xtensor<T, 3>& dys) {
    if (!recorded_)
      throw std::logic_error(where("backward") +
                             "no recorded forward pass (call forward first; backward consumes "
                             "the recording)");
    const auto& shape = dys.shape();
    if (shape[0] != batch_ || shape[1] != steps_ || shape[2] != Net::out_size)
      throw std::invalid_argument(where("backward") + "output gradient has shape " +
                                  std::to_string(shape[0]) + " x " + std::to_string(shape[1]) +
                                  " x " + std::to_string(shape[2]) + ", the forward pass gave " +
                                  std::to_string(batch_) + " x " + std::to_string(steps_) + " x " +
                                  std::to_string(Net::out_size));
    constexpr std::size_t out_stride = records::strides[L];
    T* d = gradients_[L].data();
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t t = 0; t < steps_; ++t) {
        T* row = d + (t * batch_ + b) * out_stride;
        for (std::size_t j = 0; j < Net::out_size; ++j) {
          const T v = dys(b, t, j);
          if (!std::isfinite(v))
            throw std::invalid_argument(where("backward") + "output gradient is not finite (" +
                                        std::to_string(v) + ") at sequence " + std::to_string(b) +
                                        ", step " + std::to_string(t) + ", output " +
                                        std::to_string(j));
          row[j] = v;
        }
        std::fill(row + Net::out_size, row + out_stride, T(0));
      }
  }

  void run_backward(const Net& model, Net& grads, bool input_gradients = true) {
    recorded_ = false;  // backward overwrites what the layers recorded
    backward_done_ = true;
    kernels::unroll<L>([&](auto r) {
      constexpr std::size_t i = L - 1 - r;
      model.template layer<i>().backward(
          activations_[i].data(), activations_[i + 1].data(), gradients_[i + 1].data(), batch_,
          steps_, std::get<i>(tapes_), grads.template layer<i>(),
          i == 0 && !input_gradients ? nullptr : gradients_[i].data());
    });
  }

  static void grow(simd::aligned_vector<T>& v, std::size_t size) {
    if (v.size() < size) v.resize(size);
  }

  std::array<simd::aligned_vector<T>, L + 1> activations_;
  std::array<simd::aligned_vector<T>, L + 1> gradients_;
  typename records::tapes tapes_;
  typename records::states states_;
  std::size_t batch_ = 0;
  std::size_t steps_ = 0;
  bool recorded_ = false;
  bool backward_done_ = false;
};

}  // namespace RNNX_NAMESPACE
