// One training step of LSTM(1->128) -> Dense(128->1), B = 32 sequences of T = 100 steps, MSE on
// every step, Adam (issue 20's measure), on several cores:
//   train_parallel/tape                          the one-thread tape over the whole batch
//   train_parallel/shard:S/threads:N             rnnx::sharded_tape, shards of S on N threads
//   train_parallel/serial_part                   the ordered sum of 4 shards + the Adam step
// Built a second time as rnnx_bench_train_mpi (RNNX_BENCH_MPI): the sharded step across the
// processes of `mpirun -np P` (one thread each), rank 0 reporting:
//   train_parallel/shard:S/processes:P
// Every variant runs a fixed number of iterations, so that all processes run the same steps.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <random>
#include <rnnx/rnnx.hpp>
#include <string>
#include <vector>

#ifdef RNNX_BENCH_MPI
#include <mpi.h>

#include <rnnx/mpi/communicator.hpp>
#endif

#include "machine_context.hpp"

namespace {

constexpr std::size_t H = 128, batch = 32, steps = 100;
using model_type = rnnx::network<rnnx::lstm<1, H>, rnnx::dense<H, 1>>;

struct problem {
  std::unique_ptr<model_type> model = std::make_unique<model_type>();
  std::unique_ptr<model_type> grads = std::make_unique<model_type>();
  xt::xtensor<float, 3> xs = xt::xtensor<float, 3>::from_shape({batch, steps, 1});
  xt::xtensor<float, 3> targets = xt::xtensor<float, 3>::from_shape({batch, steps, 1});
  std::vector<model_type::state> states = std::vector<model_type::state>(batch);
  problem() {
    rnnx::initialize(*model, 42);
    std::mt19937 gen(7);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    for (auto& v : xs) v = noise(gen);
    for (auto& v : targets) v = noise(gen);
  }
};

void set_counters(benchmark::State& state, float loss) {
  const double flops = 3.0 * double(batch * steps) * (2.0 * 4 * H * (1 + H) + 2.0 * H);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["final_loss"] = loss;
  if (!std::isfinite(loss)) state.SkipWithError("loss is not finite");
}

[[maybe_unused]] void whole_batch_tape(benchmark::State& state) {
  problem p;
  rnnx::adam optimizer(*p.model, {.lr = 1e-3});
  rnnx::tape<model_type> tape;
  xt::xtensor<float, 3> dys;
  float loss = 0;
  for (auto _ : state) {
    rnnx::zero(*p.grads);
    const xt::xtensor<float, 3> ys = tape.forward(*p.model, p.xs);
    loss = rnnx::mse{}(ys, p.targets, dys);
    tape.backward_parameters(*p.model, dys, *p.grads);
    optimizer.step(*p.model, *p.grads);
    benchmark::DoNotOptimize(loss);
  }
  set_counters(state, loss);
}

template <class Communicator>
void sharded(benchmark::State& state, const Communicator& group) {
  problem p;
  rnnx::adam optimizer(*p.model, {.lr = 1e-3});
  rnnx::sharded_tape<model_type, Communicator> tape(
      {.shard_size = static_cast<std::size_t>(state.range(0)),
       .threads = static_cast<std::size_t>(state.range(1))},
      group);
  float loss = 0;
  for (auto _ : state) {
    for (auto& s : p.states) s.reset();
    loss = tape.gradients(*p.model, rnnx::mse{}, p.xs, p.targets, p.states, *p.grads);
    optimizer.step(*p.model, *p.grads);
    benchmark::DoNotOptimize(loss);
  }
  set_counters(state, loss);
}

/// What no thread shares out in a step (shards of 8, B = 32): summing the 4 shards' records
/// in shard order and the Adam step, on one thread: the serial part Amdahl's law needs.
[[maybe_unused]] void serial_part(benchmark::State& state) {
  problem p;
  rnnx::adam optimizer(*p.model, {.lr = 1e-3});
  const rnnx::detail::shard_plan plan{batch, 8, 1, 0};
  const std::size_t record = rnnx::detail::parameter_values<model_type>() + 1;
  std::vector<float> records(plan.count() * record);
  for (std::size_t s = 0; s < plan.count(); ++s)
    rnnx::detail::pack_shard(0.25f, *p.model, records.data() + s * record);
  float loss = 0;
  for (auto _ : state) {
    loss = rnnx::detail::sum_shards_in_order<model_type>(plan, records, *p.grads, 1);
    optimizer.step(*p.model, *p.grads);
    benchmark::DoNotOptimize(loss);
  }
}

constexpr int iterations = 30;

}  // namespace

#ifndef RNNX_BENCH_MPI

BENCHMARK(serial_part)
    ->Name("train_parallel/serial_part")
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(whole_batch_tape)
    ->Name("train_parallel/tape")
    ->Iterations(iterations)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
void sharded_on_threads(benchmark::State& state) { sharded(state, rnnx::single_process{}); }
BENCHMARK(sharded_on_threads)
    ->Name("train_parallel")
    ->ArgNames({"shard", "threads"})
    ->ArgsProduct({{1, 2, 4, 8, 16, 32}, {1, 2}})
    ->Iterations(iterations)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

#else

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  {
    const rnnx::mpi::communicator world;
    rank = world.rank();
    size = world.size();
    benchmark::RegisterBenchmark("train_parallel",
                                 [&](benchmark::State& state) { sharded(state, world); })
        ->ArgNames({"shard", "threads"})
        ->ArgsProduct({{8}, {1}})
        ->Iterations(iterations)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::AddCustomContext("processes", std::to_string(size));
    // Only rank 0 writes --benchmark_out: the others drop it from their arguments.
    std::vector<char*> args(argv, argv + argc);
    if (rank != 0)
      std::erase_if(args,
                    [](const char* a) { return std::string(a).starts_with("--benchmark_out"); });
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    if (rank == 0) {
      benchmark::RunSpecifiedBenchmarks();
    } else {
      // The same steps, reported nowhere.
      class silent : public benchmark::BenchmarkReporter {
       public:
        bool ReportContext(const Context&) override { return true; }
        void ReportRuns(const std::vector<Run>&) override {}
      } reporter;
      benchmark::RunSpecifiedBenchmarks(&reporter);
    }
    benchmark::Shutdown();
  }
  MPI_Finalize();
  return 0;
}

#endif
