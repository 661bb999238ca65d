#pragma once
// A mini-batch's loss and gradient on every core (and every process): the batch runs as fixed
// shards of sequences (rnnx/train/shards.hpp), each with its own tape, on OpenMP threads; the
// shards' gradients are summed in shard order, so the result is the same for any number of
// threads or processes. What rnnx::fit uses; a training loop of one's own uses it the same way:
//
//   rnnx::sharded_tape<Model> tape({.shard_size = 8, .threads = 0});   // 0: all cores
//   std::vector<Model::state> states(batch);                          // carried, or reset
//   float loss = tape.gradients(model, rnnx::cross_entropy{}, xs, targets, states, grads);
//   optimizer.step(model, grads);
//
// xs: batch x steps x in_size; targets as rnnx::fit takes them (every step, or the last step
// only). The loss must be a mean over the batch's sequences, as every rnnx loss is: shard s,
// of b_s of the batch's B sequences, weighs its own mean by b_s / B.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "rnnx/isa.hpp"
#include "rnnx/train/initialization.hpp"
#include "rnnx/train/shards.hpp"
#include "rnnx/train/tape.hpp"

namespace RNNX_NAMESPACE {

struct sharding_options {
  /// Sequences per shard: the results depend on it (it groups the gradient's sum), never on
  /// threads or processes. Smaller: more shards to share out; larger: each weight read
  /// serves more sequences.
  std::size_t shard_size = 8;
  /// 0: all the threads this process may use (available_threads()); above 1 needs OpenMP.
  std::size_t threads = 0;
  /// Seeds the shards' random streams (dropout): shard s from (seed, s).
  std::uint64_t seed = 0;
};

namespace detail {

/// Rows [first, first + count) of a batch-major tensor.
template <class U, std::size_t R>
xt::xtensor<U, R> batch_rows(const xt::xtensor<U, R>& source, std::size_t first,
                             std::size_t count) {
  auto shape = source.shape();
  std::array<std::size_t, R> out_shape;
  std::copy(shape.begin(), shape.end(), out_shape.begin());
  out_shape[0] = count;
  xt::xtensor<U, R> out = xt::xtensor<U, R>::from_shape(out_shape);
  const std::size_t row = shape[0] == 0 ? 0 : source.size() / shape[0];
  std::copy_n(source.data() + first * row, count * row, out.data());
  return out;
}

/// Loss and dL/dys (zero outside the steps the loss sees) for one chunk.
template <bool PerStep, class Loss, class T, class Targets>
T chunk_loss(const Loss& loss, const xt::xtensor<T, 3>& ys, const Targets& targets,
             xt::xtensor<T, 3>& dys) {
  if constexpr (PerStep)
    return loss(ys, targets, dys);
  else {
    const std::size_t batch = ys.shape(0), steps = ys.shape(1), outputs = ys.shape(2);
    xt::xtensor<T, 2> last = xt::xtensor<T, 2>::from_shape({batch, outputs});
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < outputs; ++j) last(b, j) = ys(b, steps - 1, j);
    xt::xtensor<T, 2> grad;
    const T value = loss(last, targets, grad);
    dys = xt::zeros<T>(ys.shape());
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < outputs; ++j) dys(b, steps - 1, j) = grad(b, j);
    return value;
  }
}

/// Throws std::invalid_argument, its message starting with `where`, for a shard size, thread
/// count or communicator that cannot run.
template <class Communicator>
void check_sharding(const std::string& where, std::size_t shard_size, std::size_t threads,
                    const Communicator& group) {
  if (shard_size == 0) throw std::invalid_argument(where + "shard_size must be > 0");
  if (threads > 1 && !parallel_training_available)
    throw std::invalid_argument(
        where + "threads = " + std::to_string(threads) +
        " needs OpenMP: compile with -fopenmp (CMake: link rnnx::parallel), or ask for 0 "
        "(all cores: 1 without OpenMP) or 1");
  if (group.size() < 1 || group.rank() < 0 || group.rank() >= group.size())
    throw std::invalid_argument(where + "the communicator says this is process " +
                                std::to_string(group.rank()) + " of " +
                                std::to_string(group.size()));
}

/// A shard's mean loss, and its gradient, weighed by the shard's share of the batch's mean.
template <class T, class Gradient>
T weigh_by_share(T value, Gradient& gradient, T share) {
  if (share == T(1)) return value;
  gradient *= share;
  return value * share;
}

/// What a sharded tape of any kind shares: per shard a `Tape` and a gradient model, the
/// plan of the current batch, the threads, the exchange between processes and the sum in
/// shard order. `Tape` must be default-constructible; its `seed`/`random_state`/
/// `set_random_state` are used when it has them.
template <class Net, class Tape, class Communicator>
class shard_runner {
  using T = typename Net::scalar;

 public:
  shard_runner(const std::string& where, sharding_options options, const Communicator& group)
      : where_(where), options_(options), group_(group) {
    check_sharding(where_, options_.shard_size, options_.threads, group_);
    threads_ = options_.threads == 0 ? available_threads() : options_.threads;
  }

  /// grads = the sum, in shard order, of what shard_loss(tape, first, count, share, grads_s)
  /// leaves in grads_s for each shard of a batch of `batch` (sequences [first, first + count),
  /// share = count / batch: the shard's weight in the batch's mean); returns the sum of the
  /// losses it returns (each already weighted by its share).
  template <class F>
  T gradients(std::size_t batch, Net& grads, F&& shard_loss) {
    const auto mine = begin_batch(batch);
    const std::size_t record = detail::parameter_values<Net>() + 1;
    run_shards(mine, [&](std::size_t k, std::size_t s) {
      worker& w = *workers_[s];
      const std::size_t first = plan_.first(s), count = plan_.size(s);
      const T share = count == batch ? T(1) : static_cast<T>(count) / static_cast<T>(batch);
      zero(*w.grads);
      const T value = shard_loss(w.recorder, first, count, share, *w.grads);
      detail::pack_shard(value, *w.grads, sent_.data() + k * record);
    });
    group_.all_gather(std::as_bytes(std::span<const T>(sent_)),
                      std::as_writable_bytes(std::span<T>(gathered_)));
    return detail::sum_shards_in_order<Net>(plan_, gathered_, grads, threads_);
  }

  /// f(tape, first, count) for each shard, nothing exchanged: work without a gradient.
  template <class F>
  void each_shard(std::size_t batch, F&& f) {
    const auto mine = begin_batch(batch);
    run_shards(mine, [&](std::size_t, std::size_t s) {
      f(workers_[s]->recorder, plan_.first(s), plan_.size(s));
    });
  }

  std::vector<std::vector<std::string>> random_state() {
    std::vector<std::vector<std::string>> streams(shards_seen_);
    const std::size_t processes = static_cast<std::size_t>(group_.size());
    for (std::size_t s = 0; s < shards_seen_; ++s)
      streams[s] = detail::exchange_strings(group_, s % processes,
                                            owns(s) ? worker_for(s).recorder.random_state()
                                                    : std::vector<std::string>(Net::layer_count));
    return streams;
  }

  void set_random_state(const std::vector<std::vector<std::string>>& streams) {
    for (std::size_t s = 0; s < streams.size(); ++s)
      if (owns(s)) worker_for(s).recorder.set_random_state(streams[s]);
    shards_seen_ = std::max(shards_seen_, streams.size());
  }

  std::size_t threads_used() const noexcept { return threads_used_; }
  std::size_t processes() const noexcept { return static_cast<std::size_t>(group_.size()); }
  const sharding_options& options() const noexcept { return options_; }

 private:
  struct worker {
    Tape recorder;
    std::unique_ptr<Net> grads = std::make_unique<Net>();
  };

  bool owns(std::size_t shard) const noexcept {
    return shard % static_cast<std::size_t>(group_.size()) ==
           static_cast<std::size_t>(group_.rank());
  }

  worker& worker_for(std::size_t s) {
    if (workers_.size() <= s) workers_.resize(s + 1);
    if (!workers_[s]) {
      workers_[s] = std::make_unique<worker>();
      if constexpr (requires(Tape & t) { t.seed(std::uint64_t{}); })
        workers_[s]->recorder.seed(detail::shard_seed(options_.seed, s));
    }
    return *workers_[s];
  }

  std::vector<std::size_t> begin_batch(std::size_t batch) {
    if (batch == 0) throw std::invalid_argument(where_ + "empty batch (0 sequences)");
    plan_ = detail::shard_plan{batch, options_.shard_size, static_cast<std::size_t>(group_.size()),
                               static_cast<std::size_t>(group_.rank())};
    const std::vector<std::size_t> mine = plan_.mine();
    for (const std::size_t s : mine) worker_for(s);
    shards_seen_ = std::max(shards_seen_, plan_.count());
    const std::size_t record = detail::parameter_values<Net>() + 1;
    sent_.resize(plan_.slots() * record);
    gathered_.resize(plan_.slots() * plan_.processes * record);
    threads_used_ = std::max<std::size_t>(1, std::min(threads_, mine.size()));
    return mine;
  }

  /// f(k, s) for this process's k-th shard s on the threads; then, whether any process
  /// failed, all throw together (none is left waiting in the next exchange).
  template <class F>
  void run_shards(const std::vector<std::size_t>& mine, F&& f) {
    std::exception_ptr failure;
    try {
      detail::run_in_parallel(mine.size(), threads_, [&](std::size_t k) { f(k, mine[k]); });
    } catch (...) {
      failure = std::current_exception();
    }
    detail::stop_together(group_, failure, where_);
  }

  std::string where_;
  sharding_options options_;
  Communicator group_;
  std::size_t threads_ = 1, threads_used_ = 1, shards_seen_ = 0;
  detail::shard_plan plan_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<T> sent_, gathered_;
};

}  // namespace detail

template <class Net, class Communicator = single_process>
class sharded_tape {
  using T = typename Net::scalar;

 public:
  using model_type = Net;

  explicit sharded_tape(sharding_options options = {}, const Communicator& group = {})
      : shards_(where(), options, group) {}

  /// grads = dL/dparameters of the batch's loss, which is returned: each shard runs forward
  /// over its sequences of xs (continuing their `states` and leaving the final ones there),
  /// the loss against its targets, and backward. A loss that is not finite is returned as it
  /// is (grads then hold the other shards' sum; do not step with them).
  template <class Loss, class Targets>
  T gradients(const Net& model, const Loss& loss, const xt::xtensor<T, 3>& xs,
              const Targets& targets, std::span<typename Net::state> states, Net& grads) {
    constexpr bool classes = std::is_integral_v<typename Targets::value_type>;
    constexpr std::size_t per_step_rank = classes ? 2 : 3;
    constexpr bool per_step = Targets::rank == per_step_rank;
    static_assert(Targets::rank == per_step_rank || Targets::rank + 1 == per_step_rank,
                  "rnnx::sharded_tape: targets are batch x steps [x outputs] (every step) or "
                  "batch [x outputs] (the last step)");
    check_batch(xs, states);
    if (targets.shape(0) != xs.shape(0))
      throw std::invalid_argument(where() + std::to_string(targets.shape(0)) + " targets for " +
                                  std::to_string(xs.shape(0)) + " sequences");
    return shards_.gradients(
        xs.shape(0), grads,
        [&](tape<Net>& recorder, std::size_t first, std::size_t count, T share, Net& g) {
          const auto ys = recorder.forward(model, detail::batch_rows(xs, first, count),
                                           states.subspan(first, count));
          xt::xtensor<T, 3> dys;
          const T value =
              detail::weigh_by_share(detail::chunk_loss<per_step>(
                                         loss, ys, detail::batch_rows(targets, first, count), dys),
                                     dys, share);
          if (std::isfinite(value)) recorder.backward_parameters(model, dys, g);
          return value;
        });
  }

  /// Forward only, continuing `states`: a truncated-BPTT chunk that no loss looks at.
  void advance(const Net& model, const xt::xtensor<T, 3>& xs,
               std::span<typename Net::state> states) {
    check_batch(xs, states);
    shards_.each_shard(xs.shape(0), [&](tape<Net>& recorder, std::size_t first, std::size_t count) {
      recorder.forward(model, detail::batch_rows(xs, first, count), states.subspan(first, count));
    });
  }

  /// The random streams (tape::random_state) of every shard a batch so far has had, on every
  /// process: a checkpoint's part.
  std::vector<std::vector<std::string>> random_state() { return shards_.random_state(); }
  /// Puts back what random_state gave (std::invalid_argument if it does not fit the network).
  void set_random_state(const std::vector<std::vector<std::string>>& streams) {
    shards_.set_random_state(streams);
  }

  /// Threads that ran the last batch (at most its shards on this process), and processes.
  std::size_t threads_used() const noexcept { return shards_.threads_used(); }
  std::size_t processes() const noexcept { return shards_.processes(); }
  const sharding_options& options() const noexcept { return shards_.options(); }

 private:
  static std::string where() { return "rnnx::sharded_tape<" + Net::description() + ">: "; }

  static void check_batch(const xt::xtensor<T, 3>& xs, std::span<typename Net::state> states) {
    if (states.size() != xs.shape(0))
      throw std::invalid_argument(where() + std::to_string(states.size()) +
                                  " states given for a batch of " + std::to_string(xs.shape(0)) +
                                  " sequences");
  }

  detail::shard_runner<Net, tape<Net>, Communicator> shards_;
};

}  // namespace RNNX_NAMESPACE
