#pragma once
// Training across processes and machines with MPI (CMake: link rnnx::mpi; Debian:
// libopenmpi-dev, openmpi-bin):
//
//   MPI_Init(&argc, &argv);
//   {
//     rnnx::mpi::communicator world;  // MPI_COMM_WORLD
//     rnnx::fit(model, optimizer, rnnx::mse{}, inputs, targets, options, world);
//   }
//   MPI_Finalize();
//
//   mpirun -np 8 ./train
//
// Every process calls fit with the same model, data and options (each reads the data set,
// or the same file). Each mini-batch's shards are shared out by rank (shard s on process
// s % size) and their gradients exchanged and summed in shard order on every process, so each
// holds the same model after every update, bit for bit the one a single process computes with
// the same options. Only rank 0 prints progress and writes the checkpoint; on resume every
// process reads it, so it must be on a file system they share.

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace rnnx::mpi {

/// A communicator for rnnx::fit over an MPI communicator (by default MPI_COMM_WORLD). MPI
/// must be initialised while it is used. Throws std::runtime_error naming the MPI call and
/// MPI's reason when a call fails (the communicator's error handler is set to return).
class communicator {
 public:
  explicit communicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized)
      throw std::logic_error(
          "rnnx::mpi::communicator: MPI is not initialised (call MPI_Init first)");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  MPI_Comm get() const noexcept { return comm_; }

  /// Every process's `mine` (the same length everywhere) concatenated in rank order into
  /// `all` (size() times as long), on every process. Sent in pieces below INT_MAX bytes.
  void all_gather(std::span<const std::byte> mine, std::span<std::byte> all) const {
    if (all.size() != mine.size() * static_cast<std::size_t>(size_))
      throw std::logic_error("rnnx::mpi::communicator::all_gather: " + std::to_string(all.size()) +
                             " bytes to receive " + std::to_string(mine.size()) + " from each of " +
                             std::to_string(size_) + " processes");
    constexpr std::size_t piece = std::size_t{1} << 30;
    if (mine.size() <= piece) {
      check(MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, all.data(),
                          static_cast<int>(mine.size()), MPI_BYTE, comm_),
            "MPI_Allgather");
      return;
    }
    // Larger than one call can count: gather piece by piece into a rank-major buffer.
    for (std::size_t at = 0; at < mine.size(); at += piece) {
      const std::size_t n = std::min(piece, mine.size() - at);
      std::vector<std::byte> pieces(n * static_cast<std::size_t>(size_));
      check(MPI_Allgather(mine.data() + at, static_cast<int>(n), MPI_BYTE, pieces.data(),
                          static_cast<int>(n), MPI_BYTE, comm_),
            "MPI_Allgather");
      for (std::size_t r = 0; r < static_cast<std::size_t>(size_); ++r)
        std::copy_n(pieces.data() + r * n, n, all.data() + r * mine.size() + at);
    }
  }

  void barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }

 private:
  static void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw std::runtime_error(std::string("rnnx::mpi: ") + call +
                             " failed: " + std::string(text, static_cast<std::size_t>(length)));
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace rnnx::mpi
