#pragma once
// The training loop: epochs of shuffled mini-batches, full or truncated BPTT, gradient
// clipping, one progress line per epoch, and a clear stop when a loss or gradient goes bad:
// a training_error naming where, with the model and optimiser put back as they were before
// the update that led there (fit_options::restore_on_divergence). Each batch runs as shards on
// every core (fit_options::threads, shard_size; rnnx/train/sharded_tape.hpp), or across the
// processes of a communicator (rnnx/mpi/communicator.hpp), with the same bits for any number of
// either; fit_options::checkpoint and resume continue a stopped run bit-identically.
//
//   rnnx::adam opt(model, {.lr = 1e-2});
//   auto history = rnnx::fit(model, opt, rnnx::mse{}, inputs, targets,
//                            {.epochs = 20, .batch_size = 16});
//
// inputs: sequences x steps x in_size. The targets' type says what the loss looks at:
//   mse / binary_cross_entropy_with_logits: xt::xtensor<T, 3> (sequences x steps x out_size,
//     many-to-many) or xt::xtensor<T, 2> (sequences x out_size: the last step only);
//   cross_entropy: xt::xtensor<std::size_t, 2> (sequences x steps) or <std::size_t, 1>.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "rnnx/errors.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/parameters.hpp"
#include "rnnx/train/checkpoint.hpp"
#include "rnnx/train/clipping.hpp"
#include "rnnx/train/initialization.hpp"
#include "rnnx/train/sharded_tape.hpp"
#include "rnnx/train/tape.hpp"

namespace RNNX_NAMESPACE {

struct fit_options {
  std::size_t epochs = 10;
  std::size_t batch_size = 16;
  /// 0: backpropagate through whole sequences; k: truncated BPTT, one update per chunk of k
  /// steps, the state carried from chunk to chunk but no gradient across the boundary.
  std::size_t truncation = 0;
  bool shuffle = true;
  std::uint64_t seed = 0;
  double clip_norm = 0;   ///< > 0: clip_grad_norm before each update
  double clip_value = 0;  ///< > 0: clip_grad_value before each update
  /// One line per epoch (loss, throughput); nullptr: silent.
  std::ostream* progress = nullptr;
  /// When a loss or gradient stops being finite, fit throws training_error. true: the model's
  /// parameters and the optimiser's state are first restored to what they were before the
  /// last update, the one that led there (each update then costs a copy of both); false: they
  /// are left as that update made them.
  bool restore_on_divergence = true;
  /// Threads that run a batch's shards: 0 = all this process may use (available_threads();
  /// OMP_NUM_THREADS limits it); more than a batch has shards leaves the rest idle. Any
  /// number gives the same results. Above 1 needs OpenMP (-fopenmp; CMake: rnnx::parallel).
  std::size_t threads = 0;
  /// Sequences per shard, the unit of parallel work (rnnx/train/shards.hpp): a batch of B
  /// runs as ceil(B / shard_size) shards. The results depend on it (it groups the gradient's
  /// sum), never on threads or processes. Smaller: more shards to share out; larger: each
  /// weight read serves more sequences.
  std::size_t shard_size = 8;
  /// Non-empty: after every `checkpoint_every` epochs and after the last, the model, the
  /// optimiser's state, the data order, the random streams and the epoch are written there
  /// (rnnx/train/checkpoint.hpp), replacing the previous checkpoint only once complete.
  std::filesystem::path checkpoint{};
  std::size_t checkpoint_every = 1;
  /// true: when `checkpoint` exists, fit continues the run it holds (from the epoch after it,
  /// bit-identically to a run that never stopped, up to `epochs` in all) after checking that
  /// it is of this model, optimiser, data size and batch partition; when it does not exist,
  /// training starts from the beginning.
  bool resume = false;
};

struct epoch_summary {
  std::size_t epoch = 0;
  double loss = 0;  ///< mean training loss of the epoch's updates, weighted by batch size
  std::size_t updates = 0;
  double seconds = 0;
  double sequences_per_second = 0;
  std::size_t threads = 1;    ///< threads that ran shards (at most the shards of a batch)
  std::size_t processes = 1;  ///< processes that trained together
};

namespace detail {

/// Rows `order[first, first + count)` of `source`, time steps [t0, t1) when it has a time axis.
template <class U, std::size_t R>
xt::xtensor<U, R> gather(const xt::xtensor<U, R>& source, std::span<const std::size_t> rows,
                         std::size_t t0, std::size_t t1, bool has_time) {
  auto shape = source.shape();
  std::array<std::size_t, R> out_shape;
  std::copy(shape.begin(), shape.end(), out_shape.begin());
  out_shape[0] = rows.size();
  if (has_time) out_shape[1] = t1 - t0;
  xt::xtensor<U, R> out = xt::xtensor<U, R>::from_shape(out_shape);
  std::size_t inner = 1;
  for (std::size_t k = has_time ? 2 : 1; k < R; ++k) inner *= shape[k];
  const std::size_t source_row = source.size() / shape[0];
  const std::size_t out_row = out.size() / rows.size();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const U* from = source.data() + rows[i] * source_row + (has_time ? t0 * inner : 0);
    std::copy_n(from, out_row, out.data() + i * out_row);
  }
  return out;
}

/// "layer 0 (lstm<1, 32>) weight_hh" for the first non-finite gradient, or "".
template <class Net>
std::string first_bad_gradient(const Net& grads) {
  using T = typename Net::scalar;
  std::string found;
  for_each_parameter(
      [&](std::size_t layer, std::string_view name, std::span<const T> g) {
        if (!found.empty()) return;
        for (const T v : g)
          if (!std::isfinite(v)) {
            std::string layer_text;
            grads.for_each_layer([&](auto i, const auto& l) {
              if (i == layer) layer_text = layer_name<std::decay_t<decltype(l)>>();
            });
            found = "layer " + std::to_string(layer) + " (" + layer_text + ") " +
                    std::string(name) + " (value " + std::to_string(v) + ")";
            return;
          }
      },
      grads);
  return found;
}

}  // namespace detail

/// Trains `model` with `optimizer` on (inputs, targets): see the top of this file and
/// fit_options. `group`: the processes that train together (rnnx::mpi::communicator, each
/// calling fit with the same data and options); by default this process alone.
template <class Net, class Optimizer, class Loss, class Targets,
          class Communicator = single_process>
std::vector<epoch_summary> fit(Net& model, Optimizer& optimizer, const Loss& loss,
                               const xt::xtensor<typename Net::scalar, 3>& inputs,
                               const Targets& targets, const fit_options& options = {},
                               const Communicator& group = {}) {
  using T = typename Net::scalar;
  constexpr bool classes = std::is_integral_v<typename Targets::value_type>;
  constexpr std::size_t per_step_rank = classes ? 2 : 3;
  constexpr bool per_step = Targets::rank == per_step_rank;
  static_assert(Targets::rank == per_step_rank || Targets::rank + 1 == per_step_rank,
                "rnnx::fit: targets are sequences x steps [x outputs] (every step) or "
                "sequences [x outputs] (the last step)");
  const std::string where = "rnnx::fit<" + Net::description() + ">: ";
  const std::size_t sequences = inputs.shape(0), steps = inputs.shape(1);
  if (sequences == 0 || steps == 0)
    throw std::invalid_argument(where + "no training data (" + std::to_string(sequences) +
                                " sequences of " + std::to_string(steps) + " steps)");
  if (targets.shape(0) != sequences)
    throw std::invalid_argument(where + std::to_string(targets.shape(0)) + " targets for " +
                                std::to_string(sequences) + " input sequences");
  if (per_step && targets.shape(1) != steps)
    throw std::invalid_argument(where + "targets have " + std::to_string(targets.shape(1)) +
                                " steps, the inputs " + std::to_string(steps));
  if constexpr (!classes) {
    if (targets.shape(Targets::rank - 1) != Net::out_size)
      throw std::invalid_argument(
          where + "targets have " + std::to_string(targets.shape(Targets::rank - 1)) +
          " values per step, the model outputs " + std::to_string(Net::out_size));
  }
  if (options.batch_size == 0) throw std::invalid_argument(where + "batch_size must be > 0");
  detail::check_sharding(where, options.shard_size, options.threads, group);
  if (options.resume && options.checkpoint.empty())
    throw std::invalid_argument(where + "resume is set but no checkpoint file is named");
  const std::size_t chunk = options.truncation == 0 ? steps : std::min(options.truncation, steps);
  const bool leader = group.rank() == 0;  // writes the files and the progress lines

  detail::checkpoint_progress progress;
  progress.order.resize(sequences);
  std::iota(progress.order.begin(), progress.order.end(), std::size_t{0});
  progress.shuffler.seed(options.seed);
  const detail::checkpoint_run run{sequences,          options.batch_size, options.shard_size,
                                   options.truncation, options.shuffle,    options.seed};

  sharded_tape<Net, Communicator> shards(
      {.shard_size = options.shard_size, .threads = options.threads, .seed = options.seed}, group);
  // The shards of the largest batch: how many random streams a checkpoint holds.
  const std::size_t shard_count =
      (std::min(options.batch_size, sequences) + options.shard_size - 1) / options.shard_size;
  if (options.resume && std::filesystem::exists(options.checkpoint)) {
    detail::read_checkpoint(options.checkpoint, model, optimizer, run, progress);
    if (progress.random_streams.size() != shard_count)
      throw checkpoint_error("rnnx::fit: checkpoint '" + options.checkpoint.string() + "' holds " +
                             std::to_string(progress.random_streams.size()) +
                             " shards' random streams, the run has " + std::to_string(shard_count));
    shards.set_random_state(progress.random_streams);
  }

  auto grads = std::make_unique<Net>();
  // The model and optimiser before the last update, and where that update was.
  constexpr bool optimizer_restorable = std::is_copy_assignable_v<Optimizer>;
  std::unique_ptr<Net> model_before;
  std::unique_ptr<Optimizer> optimizer_before;
  std::string last_update;
  const auto diverged = [&](const std::string& what) {
    std::string state = "; the model holds its weights from before training (no update was made)";
    if (!last_update.empty()) {
      if (options.restore_on_divergence) {
        model = *model_before;
        if constexpr (optimizer_restorable) optimizer = *optimizer_before;
        state = std::string("; the model") +
                (optimizer_restorable ? " and the optimiser are" : " is") +
                " restored to before the update at " + last_update;
      } else {
        state = "; the model holds the weights of the update at " + last_update +
                " (restore_on_divergence is off)";
      }
    }
    throw training_error(where + what + state);
  };
  std::vector<typename Net::state> states;
  std::vector<epoch_summary> history;

  for (std::size_t epoch = progress.epoch + 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    auto& order = progress.order;
    if (options.shuffle)  // Fisher-Yates with the engine's raw output: same order everywhere
      for (std::size_t i = sequences; i > 1; --i)
        std::swap(order[i - 1], order[progress.shuffler() % i]);
    double weighted_loss = 0;
    std::size_t weight = 0, updates = 0, batch_index = 0, threads_used = 1;
    for (std::size_t first = 0; first < sequences; first += options.batch_size, ++batch_index) {
      const std::span<const std::size_t> rows(order.data() + first,
                                              std::min(options.batch_size, sequences - first));
      states.assign(rows.size(), model.initial_state());
      for (std::size_t t0 = 0; t0 < steps; t0 += chunk) {
        const std::size_t t1 = std::min(steps, t0 + chunk);
        const auto xs = detail::gather(inputs, rows, t0, t1, true);
        if (!per_step && t1 != steps) {  // the loss sees only the last step
          shards.advance(model, xs, states);
          continue;
        }
        const T value = shards.gradients(
            model, loss, xs, detail::gather(targets, rows, t0, t1, per_step), states, *grads);
        threads_used = std::max(threads_used, shards.threads_used());
        const std::string at = "epoch " + std::to_string(epoch) + ", batch " +
                               std::to_string(batch_index) + ", steps [" + std::to_string(t0) +
                               ", " + std::to_string(t1) + ")";
        if (!std::isfinite(value))
          diverged("the loss is not finite (" + std::to_string(value) + ") at " + at);
        if (const std::string bad = detail::first_bad_gradient(*grads); !bad.empty())
          diverged("the gradient of " + bad + " is not finite at " + at);
        if (options.clip_value > 0) clip_grad_value(*grads, options.clip_value);
        if (options.clip_norm > 0) clip_grad_norm(*grads, options.clip_norm);
        if (options.restore_on_divergence) {
          if (!model_before) model_before = std::make_unique<Net>();
          *model_before = model;
          if constexpr (optimizer_restorable) {
            if (!optimizer_before)
              optimizer_before = std::make_unique<Optimizer>(optimizer);
            else
              *optimizer_before = optimizer;
          }
        }
        optimizer.step(model, *grads);
        last_update = at;
        weighted_loss += double(value) * double(rows.size());
        weight += rows.size();
        ++updates;
      }
    }
    epoch_summary summary;
    summary.epoch = epoch;
    summary.loss = weight ? weighted_loss / double(weight) : 0.0;
    summary.updates = updates;
    summary.threads = threads_used;
    summary.processes = shards.processes();
    summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.sequences_per_second = double(sequences) / std::max(summary.seconds, 1e-9);
    history.push_back(summary);
    progress.epoch = epoch;
    if (!options.checkpoint.empty() &&
        (epoch % std::max<std::size_t>(options.checkpoint_every, 1) == 0 ||
         epoch == options.epochs)) {
      progress.random_streams = shards.random_state();
      if (leader) detail::write_checkpoint(options.checkpoint, model, optimizer, run, progress);
      group.barrier();  // no process goes on (or returns) before the checkpoint is on disk
    }
    if (options.progress != nullptr && leader) {
      std::ostringstream line;
      line << "epoch " << epoch << "/" << options.epochs << "  loss " << std::setprecision(6)
           << summary.loss << "  " << std::setprecision(4) << summary.sequences_per_second
           << " sequences/s  " << std::setprecision(3) << summary.seconds << " s\n";
      *options.progress << line.str() << std::flush;
    }
  }
  return history;
}

}  // namespace RNNX_NAMESPACE
