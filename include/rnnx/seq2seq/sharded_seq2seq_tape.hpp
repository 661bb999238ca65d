#pragma once
// Teacher-forced encoder-decoder training on every core (and every process): the batch runs as
// fixed shards of sequences, each with its own rnnx::seq2seq_tape, their gradients summed in
// shard order, so any number of threads or processes gives the same bits
// (rnnx/train/sharded_tape.hpp says how):
//
//   rnnx::sharded_seq2seq_tape<Model> tape({.shard_size = 8, .threads = 0});
//   float loss = tape.gradients(model, rnnx::cross_entropy{}, source, target_in, target, grads);
//   optimizer.step(model, grads);

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "rnnx/isa.hpp"
#include "rnnx/seq2seq/encoder_decoder.hpp"
#include "rnnx/train/sharded_tape.hpp"

namespace RNNX_NAMESPACE {

template <class Model, class Communicator = single_process>
class sharded_seq2seq_tape {
  using T = typename Model::scalar;

 public:
  using model_type = Model;

  explicit sharded_seq2seq_tape(sharding_options options = {}, const Communicator& group = {})
      : shards_(where(), options, group) {}

  /// grads = dL/dparameters of the batch's loss, which is returned. source: B x S x encoder
  /// inputs, target_in: B x T x decoder inputs, targets: what `loss` compares the B x T x
  /// vocabulary logits with (class ids B x T for cross_entropy), source_lengths: as
  /// seq2seq_tape::forward takes them (empty: all S).
  template <class Loss, class Targets>
  T gradients(const Model& model, const Loss& loss, const xt::xtensor<T, 3>& source,
              const xt::xtensor<T, 3>& target_in, const Targets& targets, Model& grads,
              const std::vector<std::size_t>& source_lengths = {}) {
    const std::size_t batch = source.shape(0);
    if (target_in.shape(0) != batch || targets.shape(0) != batch)
      throw std::invalid_argument(where() + std::to_string(batch) + " source sequences, " +
                                  std::to_string(target_in.shape(0)) + " decoder inputs and " +
                                  std::to_string(targets.shape(0)) + " targets");
    if (!source_lengths.empty() && source_lengths.size() != batch)
      throw std::invalid_argument(where() + std::to_string(source_lengths.size()) +
                                  " source lengths for a batch of " + std::to_string(batch));
    return shards_.gradients(
        batch, grads,
        [&](seq2seq_tape<Model>& recorder, std::size_t first, std::size_t count, T share,
            Model& g) {
          std::vector<std::size_t> lengths;
          if (!source_lengths.empty())
            lengths.assign(source_lengths.begin() + first, source_lengths.begin() + first + count);
          const auto logits =
              recorder.forward(model, detail::batch_rows(source, first, count),
                               detail::batch_rows(target_in, first, count), lengths);
          xt::xtensor<T, 3> dlogits;
          const T value = detail::weigh_by_share(
              loss(logits, detail::batch_rows(targets, first, count), dlogits), dlogits, share);
          if (std::isfinite(value)) recorder.backward(model, dlogits, g);
          return value;
        });
  }

  std::size_t threads_used() const noexcept { return shards_.threads_used(); }
  std::size_t processes() const noexcept { return shards_.processes(); }

 private:
  static std::string where() {
    return "rnnx::sharded_seq2seq_tape<" + Model::description() + ">: ";
  }

  detail::shard_runner<Model, seq2seq_tape<Model>, Communicator> shards_;
};

}  // namespace RNNX_NAMESPACE
