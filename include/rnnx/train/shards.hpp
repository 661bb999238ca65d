#pragma once
// Data-parallel training with results that do not depend on how many workers run it.
//
// Each mini-batch is cut into shards of fit_options::shard_size sequences (the last may be
// shorter). A shard is the unit of work: its own tape, its own loss and gradient. Shard s
// runs on process s % P (P processes: rnnx::mpi::communicator; one by default), on whichever
// of that process's threads is free; the shards' gradients are then summed in shard order
// 0, 1, 2, ... on every process. The partition and the order depend on the batch and the
// shard size only, so 1 thread or 16, 1 process or 8, give the same bits.
//
// The shard losses are means over their own sequences (as every rnnx loss is); shard s, of
// b_s of the batch's B sequences, scales its loss and dL/dys by b_s / B, which makes the sum
// the batch's mean.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "rnnx/isa.hpp"
#include "rnnx/parameters.hpp"

namespace RNNX_NAMESPACE {

/// The communicator fit uses when none is given: this process alone. A communicator is what
/// fit needs of a group of processes (rnnx::mpi::communicator is the other one):
///   rank(), size();
///   all_gather(mine, all): every process's `mine` (the same number of bytes everywhere)
///     concatenated in rank order into `all`, on every process;
///   barrier().
struct single_process {
  int rank() const noexcept { return 0; }
  int size() const noexcept { return 1; }
  void all_gather(std::span<const std::byte> mine, std::span<std::byte> all) const {
    std::memcpy(all.data(), mine.data(), mine.size());
  }
  void barrier() const noexcept {}
};

/// Whether this translation unit was compiled with OpenMP (-fopenmp; the rnnx::parallel CMake
/// target adds it): without it, training runs on one thread.
inline constexpr bool parallel_training_available =
#ifdef _OPENMP
    true;
#else
    false;
#endif

/// The cores this process may use: OpenMP's count (OMP_NUM_THREADS, the affinity mask), or
/// 1 without OpenMP.
inline std::size_t available_threads() noexcept {
#ifdef _OPENMP
  return static_cast<std::size_t>(std::max(1, omp_get_max_threads()));
#else
  return 1;
#endif
}

namespace detail {

/// Which sequences of a mini-batch of `batch` each shard holds, and which process runs it.
struct shard_plan {
  std::size_t batch = 0, shard_size = 1, processes = 1, rank = 0;

  std::size_t count() const noexcept { return (batch + shard_size - 1) / shard_size; }
  std::size_t first(std::size_t shard) const noexcept { return shard * shard_size; }
  std::size_t size(std::size_t shard) const noexcept {
    return std::min(shard_size, batch - first(shard));
  }
  std::size_t owner(std::size_t shard) const noexcept { return shard % processes; }
  /// Shards per process in the exchange: every process sends this many slots (its last may be
  /// unused), so the gathered buffer has the same layout everywhere.
  std::size_t slots() const noexcept { return (count() + processes - 1) / processes; }
  /// This process's shards, in order.
  std::vector<std::size_t> mine() const {
    std::vector<std::size_t> shards;
    for (std::size_t s = rank; s < count(); s += processes) shards.push_back(s);
    return shards;
  }
  /// Where shard s lands in the gathered buffer, counted in slots.
  std::size_t gathered_slot(std::size_t shard) const noexcept {
    return owner(shard) * slots() + shard / processes;
  }
};

/// The seed of shard s's random streams: the run's own for shard 0 (so a batch of one shard
/// draws what an unsharded tape seeded with it draws), a mix of both for the others.
inline std::uint64_t shard_seed(std::uint64_t seed, std::size_t shard) noexcept {
  if (shard == 0) return seed;
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(shard) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;  // splitmix64's finaliser
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// After a step that may have failed on some processes: every process learns whether any did
/// and throws (its own exception, or one naming the first process that failed), so none is
/// left waiting in the next exchange.
template <class Communicator>
void stop_together(const Communicator& group, const std::exception_ptr& failure,
                   const std::string& where) {
  if (group.size() == 1) {
    if (failure) std::rethrow_exception(failure);
    return;
  }
  const std::byte mine{static_cast<unsigned char>(failure ? 1 : 0)};
  std::vector<std::byte> all(static_cast<std::size_t>(group.size()));
  group.all_gather(std::span<const std::byte>(&mine, 1), all);
  if (failure) std::rethrow_exception(failure);
  for (std::size_t r = 0; r < all.size(); ++r)
    if (all[r] != std::byte{0})
      throw std::runtime_error(where + "process " + std::to_string(r) +
                               " stopped with an error (its own message says why); this process "
                               "stops with it");
}

/// Process `from`'s `texts` on every process (texts without '\n').
template <class Communicator>
std::vector<std::string> exchange_strings(const Communicator& group, std::size_t from,
                                          const std::vector<std::string>& texts) {
  if (group.size() == 1) return texts;
  std::string joined;
  for (const auto& t : texts) joined += t + '\n';
  const std::size_t processes = static_cast<std::size_t>(group.size());
  const std::uint64_t length = joined.size();
  std::vector<std::uint64_t> lengths(processes);
  group.all_gather(std::as_bytes(std::span<const std::uint64_t>(&length, 1)),
                   std::as_writable_bytes(std::span<std::uint64_t>(lengths)));
  const std::size_t longest = *std::max_element(lengths.begin(), lengths.end());
  joined.resize(longest, '\n');
  std::string all(longest * processes, '\0');
  group.all_gather(std::as_bytes(std::span<const char>(joined.data(), longest)),
                   std::as_writable_bytes(std::span<char>(all.data(), all.size())));
  std::vector<std::string> result;
  std::string_view theirs(all.data() + from * longest, lengths[from]);
  for (std::size_t at = 0; at < theirs.size();) {
    const std::size_t end = theirs.find('\n', at);
    result.emplace_back(theirs.substr(at, end - at));
    at = end + 1;
  }
  return result;
}

/// f(k) for k in [0, count) on up to `threads` OpenMP threads (one k per thread at a time).
/// An exception thrown by any f(k) is rethrown here, the one of the smallest k, after all
/// have finished: an exception must not leave an OpenMP region.
template <class F>
void run_in_parallel(std::size_t count, std::size_t threads, F&& f) {
  std::vector<std::exception_ptr> errors(count);
  [[maybe_unused]] const int workers =
      static_cast<int>(std::max<std::size_t>(1, std::min(threads, count)));
#ifdef _OPENMP
#pragma omp parallel for num_threads(workers) schedule(dynamic, 1)
#endif
  for (std::ptrdiff_t k = 0; k < static_cast<std::ptrdiff_t>(count); ++k) {
    try {
      f(static_cast<std::size_t>(k));
    } catch (...) {
      errors[static_cast<std::size_t>(k)] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// Parameter values of a model of type Net, padding included: the length of a shard's record.
template <class Net>
std::size_t parameter_values() {
  static const std::size_t count = [] {
    std::size_t n = 0;
    auto model = std::make_unique<Net>();
    for_each_parameter([&](std::size_t, std::string_view, auto p) { n += p.size(); }, *model);
    return n;
  }();
  return count;
}

/// A shard's contribution as it travels: its (scaled) loss, then its gradient's values.
template <class Net>
void pack_shard(typename Net::scalar loss, const Net& grads, typename Net::scalar* record) {
  *record++ = loss;
  for_each_parameter([&](std::size_t, std::string_view,
                         auto g) { record = std::copy(g.begin(), g.end(), record); },
                     grads);
}

/// grads = the sum of the shards' gradients and the return value the sum of their losses,
/// both in shard order; `records` holds shard s's record at records[gathered_slot(s)].
/// Threads split the parameters, never one element's sum, so the order holds.
template <class Net>
typename Net::scalar sum_shards_in_order(const shard_plan& plan,
                                         std::span<const typename Net::scalar> records, Net& grads,
                                         std::size_t threads) {
  using T = typename Net::scalar;
  const std::size_t values = parameter_values<Net>(), record = values + 1;
  const std::size_t shards = plan.count();
  T loss = 0;
  for (std::size_t s = 0; s < shards; ++s) loss += records[plan.gathered_slot(s) * record];
  // Each parameter's offset in a record, then its elements summed on some thread.
  std::vector<std::span<T>> targets;
  for_each_parameter([&](std::size_t, std::string_view, std::span<T> g) { targets.push_back(g); },
                     grads);
  std::vector<std::size_t> offsets(targets.size());
  for (std::size_t k = 0, at = 1; k < targets.size(); at += targets[k].size(), ++k) offsets[k] = at;
  run_in_parallel(targets.size(), threads, [&](std::size_t k) {
    const std::span<T> out = targets[k];
    std::fill(out.begin(), out.end(), T(0));
    for (std::size_t s = 0; s < shards; ++s) {
      const T* in = records.data() + plan.gathered_slot(s) * record + offsets[k];
      for (std::size_t i = 0; i < out.size(); ++i) out[i] += in[i];
    }
  });
  return loss;
}

}  // namespace detail

}  // namespace RNNX_NAMESPACE
