// Run by CTest as `mpirun -np 2` and `-np 3` (tests/CMakeLists.txt): rnnx::fit over
// rnnx::mpi::communicator gives, on every process, the bits one process gives with the same
// options; only rank 0 prints and writes the checkpoint; a run resumed from it across
// processes continues bit-identically; a process with no shard (more processes than a batch
// has shards) takes part without work. Exits non-zero, naming the check, on any difference.

#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <rnnx/mpi/communicator.hpp>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/fit.hpp>
#include <sstream>
#include <string>

namespace {

using Net =
    rnnx::network<rnnx::gru<2, 10>, rnnx::dropout<10, std::ratio<1, 5>>, rnnx::dense<10, 1>>;

int failures = 0;
int rank = 0;

void expect(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
  ++failures;
}

std::pair<xt::xtensor<float, 3>, xt::xtensor<float, 3>> data() {
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> u(-1, 1);
  auto xs = xt::xtensor<float, 3>::from_shape({23, 11, 2});
  auto ys = xt::xtensor<float, 3>::from_shape({23, 11, 1});
  for (auto& v : xs) v = u(gen);
  for (std::size_t i = 0; i < 23; ++i)
    for (std::size_t t = 0; t < 11; ++t) ys(i, t, 0) = 0.5f * xs(i, t, 0) - 0.25f * xs(i, t, 1);
  return {xs, ys};
}

template <class Communicator>
std::unique_ptr<Net> train(rnnx::fit_options options, const Communicator& group,
                           std::vector<rnnx::epoch_summary>* history = nullptr) {
  const auto [xs, ys] = data();
  auto model = std::make_unique<Net>();
  rnnx::initialize(*model, 5);
  rnnx::adam opt(*model, {.lr = 1e-2});
  auto h = rnnx::fit(*model, opt, rnnx::mse{}, xs, ys, options, group);
  if (history) *history = h;
  return model;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  {
    const rnnx::mpi::communicator world;
    rank = world.rank();
    const std::string processes = std::to_string(world.size()) + " processes";
    rnnx::fit_options options;
    options.epochs = 3;
    options.batch_size = 8;  // 23 sequences: batches of 8, 8 and 7
    options.shard_size = 3;  // 3 shards a batch, the last of 2 or 1 sequences
    options.seed = 4;
    options.threads = 1;

    const auto alone = train(options, rnnx::single_process{});
    std::ostringstream progress;
    rnnx::fit_options shared = options;
    shared.progress = &progress;
    std::vector<rnnx::epoch_summary> history;
    expect(*train(shared, world, &history) == *alone,
           processes + " give the model one process gives");
    expect(history.back().processes == static_cast<std::size_t>(world.size()),
           "the summary counts the processes");
    expect(rank == 0 ? !progress.str().empty() : progress.str().empty(),
           "only rank 0 prints progress (rank " + std::to_string(rank) + " printed '" +
               progress.str() + "')");

    // More processes than shards: batches of 3 are one shard, the other processes idle.
    rnnx::fit_options one_shard = options;
    one_shard.batch_size = 3;
    expect(*train(one_shard, world) == *train(one_shard, rnnx::single_process{}),
           "processes without a shard");

    // A process that fails (here: rank 1's copy of the data holds a NaN in a sequence of its
    // shard) stops, and so does every other process, instead of waiting for it.
    {
      auto [xs, ys] = data();
      if (rank == 1) xs(4, 2, 0) = std::nanf("");
      rnnx::fit_options bad = options;
      bad.shuffle = false;  // batch 0, shard 1 (sequences 3-5) runs on rank 1
      Net model;
      rnnx::initialize(model, 5);
      rnnx::adam opt(model, {.lr = 1e-2});
      std::string message = "no error";
      try {
        rnnx::fit(model, opt, rnnx::mse{}, xs, ys, bad, world);
      } catch (const std::exception& e) {
        message = e.what();
      }
      expect(
          message.find(rank == 1 ? "not finite" : "process 1 stopped with an error") !=
              std::string::npos,
          "a failing process stops them all (rank " + std::to_string(rank) + ": " + message + ")");
    }

    // Stop after one epoch, resume to three: the same as the uninterrupted run.
    const std::filesystem::path checkpoint =
        argc > 1 ? argv[1] : "rnnx_mpi_checkpoint_" + std::to_string(world.size()) + ".json";
    if (rank == 0) std::filesystem::remove(checkpoint);
    world.barrier();
    rnnx::fit_options first = options;
    first.epochs = 1;
    first.checkpoint = checkpoint;
    train(first, world);
    expect(std::filesystem::exists(checkpoint), "rank 0 wrote the checkpoint");
    rnnx::fit_options rest = options;
    rest.checkpoint = checkpoint;
    rest.resume = true;
    expect(*train(rest, world) == *alone, "a run resumed across processes");
    world.barrier();
    if (rank == 0) std::filesystem::remove(checkpoint);
  }
  int all_failures = 0;
  MPI_Allreduce(&failures, &all_failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    std::printf(all_failures ? "mpi_training_test: FAILED\n" : "mpi_training_test: passed\n");
  MPI_Finalize();
  return all_failures ? 1 : 0;
}
