// Training on several threads (train/shards.hpp) and checkpoint/resume (train/checkpoint.hpp):
// the same bits for every thread count, the sharded gradient equal to the whole batch's up to
// rounding, a resumed run equal to one that never stopped, and the errors a bad checkpoint or
// option gets. Built with OpenMP (the rnnx::parallel target) and run under ThreadSanitizer by
// scripts/tsan.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/fit.hpp>
#include <rnnx/train/tape.hpp>
#include <string>
#include <vector>

namespace {

using namespace rnnx;

std::filesystem::path temporary(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("rnnx_parallel_" + std::to_string(::getpid()) + "_" + name);
}

template <class T>
std::pair<xt::xtensor<T, 3>, xt::xtensor<T, 3>> noisy_sines(std::size_t n, std::size_t steps,
                                                            unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> freq(0.05, 0.3), phase(0, 6.283), noise(-0.1, 0.1);
  auto xs = xt::xtensor<T, 3>::from_shape({n, steps, 2});
  auto ys = xt::xtensor<T, 3>::from_shape({n, steps, 1});
  for (std::size_t i = 0; i < n; ++i) {
    const double w = freq(gen), p = phase(gen);
    for (std::size_t t = 0; t < steps; ++t) {
      xs(i, t, 0) = static_cast<T>(std::sin(w * double(t) + p) + noise(gen));
      xs(i, t, 1) = static_cast<T>(w);
      ys(i, t, 0) = static_cast<T>(std::sin(w * double(t + 1) + p));
    }
  }
  return {xs, ys};
}

// Dropout too: each shard's random stream must not depend on the thread that runs it.
using SineNet = network<lstm<2, 12>, dropout<12, std::ratio<1, 5>>, dense<12, 1>>;

struct run_result {
  std::unique_ptr<SineNet> model;
  std::vector<epoch_summary> history;
};

run_result train_sines(const fit_options& options, std::size_t sequences = 37) {
  const auto sample = noisy_sines<float>(sequences, 15, 5);
  const auto& xs = sample.first;
  const auto& ys = sample.second;
  run_result r{std::make_unique<SineNet>(), {}};
  initialize(*r.model, 3);
  adam opt(*r.model, {.lr = 1e-2});
  r.history = fit(*r.model, opt, mse{}, xs, ys, options);
  return r;
}

fit_options sine_options(std::size_t threads) {
  fit_options o;
  o.epochs = 3;
  o.batch_size = 16;  // 37 sequences: batches of 16, 16 and 5
  o.shard_size = 3;   // shards of 3, the last of a batch shorter
  o.seed = 11;
  o.clip_norm = 1.0;
  o.threads = threads;
  return o;
}

TEST(ParallelFit, EveryThreadCountGivesTheSameBits) {
  if (!parallel_training_available) GTEST_SKIP() << "built without OpenMP";
  const auto one = train_sines(sine_options(1));
  for (const std::size_t threads : {2u, 3u, 7u, 0u}) {
    const auto many = train_sines(sine_options(threads));
    EXPECT_TRUE(*many.model == *one.model) << threads << " threads";
    ASSERT_EQ(many.history.size(), one.history.size());
    for (std::size_t e = 0; e < one.history.size(); ++e)
      EXPECT_EQ(many.history[e].loss, one.history[e].loss) << threads << " threads";
  }
  EXPECT_EQ(one.history.back().threads, 1u);
  // More threads than a batch has shards (6): the rest stay idle, and the summary says so.
  if (parallel_training_available) {
    EXPECT_EQ(train_sines(sine_options(64)).history[0].threads, 6u);
  }
}

TEST(ParallelFit, TruncatedManyToOneClassificationToo) {
  if (!parallel_training_available) GTEST_SKIP() << "built without OpenMP";
  using Net = network<gru<3, 10>, dense<10, 4>>;
  std::mt19937 gen(2);
  std::normal_distribution<float> normal;
  auto xs = xt::xtensor<float, 3>::from_shape({29, 12, 3});
  xt::xtensor<std::size_t, 1> labels = xt::xtensor<std::size_t, 1>::from_shape({29});
  for (std::size_t i = 0; i < 29; ++i) {
    labels(i) = i % 4;
    for (std::size_t t = 0; t < 12; ++t)
      for (std::size_t j = 0; j < 3; ++j) xs(i, t, j) = normal(gen) + float(labels(i) == j);
  }
  auto run = [&](std::size_t threads) {
    auto model = std::make_unique<Net>();
    initialize(*model, 4);
    sgd opt(*model, {.lr = 0.1, .momentum = 0.9});
    fit(*model, opt, cross_entropy{}, xs, labels,
        {.epochs = 2, .batch_size = 10, .truncation = 5, .threads = threads, .shard_size = 4});
    return model;
  };
  const auto one = run(1);
  EXPECT_TRUE(*run(2) == *one);
  EXPECT_TRUE(*run(5) == *one);
}

TEST(ParallelFit, ShardedGradientIsTheWholeBatchsUpToRounding) {
  // One update by plain SGD: the step is -lr * gradient, so comparing the updated models
  // compares the gradients of 4 shards of 4 with that of one batch of 16.
  using Net = basic_network<double, lstm<2, 8>, dense<8, 1>>;
  const auto sample = noisy_sines<double>(16, 9, 6);
  const auto& xs = sample.first;
  const auto& ys = sample.second;
  auto run = [&](std::size_t shard_size) {
    auto model = std::make_unique<Net>();
    initialize(*model, 8);
    sgd opt(*model, {.lr = 1.0});
    fit(*model, opt, mse{}, xs, ys,
        {.epochs = 1, .batch_size = 16, .shuffle = false, .shard_size = shard_size});
    return model;
  };
  const auto whole = run(16), sharded = run(4);
  EXPECT_FALSE(*whole == *sharded) << "the sums are grouped differently";
  for_each_parameter(
      [&](std::size_t layer, std::string_view name, std::span<const double> a,
          std::span<const double> b) {
        for (std::size_t i = 0; i < a.size(); ++i)
          EXPECT_NEAR(a[i], b[i], 1e-12) << "layer " << layer << " " << name << "[" << i << "]";
      },
      *whole, *sharded);
}

TEST(ShardedSeq2seqTape, AnyThreadCountTheSameBitsAndTheWholeBatchsGradient) {
  using Encoder = basic_network<double, embedding<7, 4>, gru<4, 6>>;
  using Decoder = basic_network<double, embedding<7, 4>, gru<4, 6>>;
  using Model = encoder_decoder<Encoder, Decoder, attention<6, 6, general_score, double>,
                                basic_network<double, dense<12, 7>>>;
  constexpr std::size_t batch = 11, source_steps = 5, target_steps = 4;
  std::mt19937 gen(3);
  std::uniform_int_distribution<std::size_t> token(0, 6), length(2, source_steps);
  auto source = xt::xtensor<double, 3>::from_shape({batch, source_steps, 1});
  auto target_in = xt::xtensor<double, 3>::from_shape({batch, target_steps, 1});
  auto target = xt::xtensor<std::size_t, 2>::from_shape({batch, target_steps});
  for (auto& v : source) v = double(token(gen));
  for (auto& v : target_in) v = double(token(gen));
  for (auto& v : target) v = token(gen);
  std::vector<std::size_t> lengths(batch);
  for (auto& l : lengths) l = length(gen);
  auto model = std::make_unique<Model>();
  initialize(*model, 5);

  // The whole batch on one tape: the reference gradient.
  auto whole = std::make_unique<Model>();
  seq2seq_tape<Model> tp;
  xt::xtensor<double, 3> dlogits;
  const double whole_loss =
      cross_entropy{}(tp.forward(*model, source, target_in, lengths), target, dlogits);
  tp.backward(*model, dlogits, *whole);

  const auto sharded = [&](std::size_t threads) {
    auto grads = std::make_unique<Model>();
    sharded_seq2seq_tape<Model> tape({.shard_size = 3, .threads = threads});
    const double loss =
        tape.gradients(*model, cross_entropy{}, source, target_in, target, *grads, lengths);
    EXPECT_NEAR(loss, whole_loss, 1e-13);
    return grads;
  };
  const auto one = sharded(1);
  for_each_parameter(
      [&](std::size_t layer, std::string_view name, std::span<const double> a,
          std::span<const double> b) {
        for (std::size_t i = 0; i < a.size(); ++i)
          EXPECT_NEAR(a[i], b[i], 1e-13) << "layer " << layer << " " << name << "[" << i << "]";
      },
      *one, *whole);
  if (parallel_training_available) {
    EXPECT_TRUE(*sharded(2) == *one);
    EXPECT_TRUE(*sharded(4) == *one);
  }
}

TEST(ShardedTape, StatesCarryAndBadBatchesAreNamed) {
  using Net = network<lstm<2, 12>, dense<12, 1>>;
  const auto sample = noisy_sines<float>(10, 8, 2);
  auto model = std::make_unique<Net>();
  initialize(*model, 1);
  sharded_tape<Net> tape({.shard_size = 3});
  std::vector<Net::state> states(10);
  auto grads = std::make_unique<Net>();
  tape.gradients(*model, mse{}, sample.first, sample.second, states, *grads);
  // The states are the forward pass's final ones, sequence by sequence.
  for (std::size_t b = 0; b < 10; ++b) {
    Net::state s;
    for (std::size_t t = 0; t < 8; ++t) {
      const float x[2] = {sample.first(b, t, 0), sample.first(b, t, 1)};
      model->step(std::span<const float, 2>(x), s);
    }
    EXPECT_NEAR(s.output[0], states[b].output[0], 1e-5) << b;
  }
  std::vector<Net::state> too_few(9);
  try {
    tape.gradients(*model, mse{}, sample.first, sample.second, too_few, *grads);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("9 states given for a batch of 10 sequences"),
              std::string::npos)
        << e.what();
  }
}

TEST(ParallelFit, ThreadsWithoutOpenMPAreRefusedAndBadOptionsNamed) {
  const auto sample = noisy_sines<float>(4, 5, 1);
  const auto& xs = sample.first;
  const auto& ys = sample.second;
  SineNet model;
  adam opt(model);
  const auto message = [&](fit_options o) {
    try {
      fit(model, opt, mse{}, xs, ys, o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({.shard_size = 0}).find("shard_size must be > 0"), std::string::npos);
  EXPECT_NE(message({.resume = true}).find("resume is set but no checkpoint file is named"),
            std::string::npos);
  if (!parallel_training_available) {
    EXPECT_NE(message({.threads = 2}).find("threads = 2 needs OpenMP"), std::string::npos);
  }
}

TEST(Checkpoint, AResumedRunIsBitIdenticalToOneThatNeverStopped) {
  if (!parallel_training_available) GTEST_SKIP() << "built without OpenMP";
  const auto path = temporary("resume.json");
  std::filesystem::remove(path);
  fit_options all = sine_options(2);
  all.epochs = 5;
  const auto straight = train_sines(all);

  fit_options first = all;
  first.epochs = 2;
  first.checkpoint = path;
  const auto stopped = train_sines(first);
  ASSERT_TRUE(std::filesystem::exists(path));

  // A new process would start from another initialisation and a fresh optimiser: both are
  // replaced by the checkpoint's.
  const auto sample = noisy_sines<float>(37, 15, 5);
  const auto& xs = sample.first;
  const auto& ys = sample.second;
  auto model = std::make_unique<SineNet>();
  initialize(*model, 99);
  adam opt(*model, {.lr = 1e-2});
  fit_options rest = all;
  rest.checkpoint = path;
  rest.resume = true;
  rest.threads = 1;  // another thread count, the same run
  const auto history = fit(*model, opt, mse{}, xs, ys, rest);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history.front().epoch, 3u);
  EXPECT_TRUE(*model == *straight.model);
  EXPECT_EQ(history.back().loss, straight.history.back().loss);

  // Resuming a finished run trains no further.
  EXPECT_TRUE(fit(*model, opt, mse{}, xs, ys, rest).empty());
  EXPECT_TRUE(*model == *straight.model);
  std::filesystem::remove(path);
}

TEST(Checkpoint, WithoutAFileResumeStartsFromTheBeginning) {
  const auto path = temporary("absent.json");
  std::filesystem::remove(path);
  fit_options o = sine_options(1);
  const auto plain = train_sines(o);
  o.checkpoint = path;
  o.resume = true;
  EXPECT_TRUE(*train_sines(o).model == *plain.model);
  EXPECT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove(path);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(Checkpoint, ACheckpointOfAnotherRunOrADamagedOneIsRefusedAndChangesNothing) {
  const auto path = temporary("refused.json");
  fit_options o = sine_options(1);
  o.epochs = 1;
  o.checkpoint = path;
  train_sines(o);
  const std::string good = read_text(path);
  ASSERT_FALSE(good.empty());

  const auto sample = noisy_sines<float>(37, 15, 5);
  const auto& xs = sample.first;
  const auto& ys = sample.second;
  auto model = std::make_unique<SineNet>();
  initialize(*model, 7);
  const auto initial = std::make_unique<SineNet>(*model);
  adam opt(*model, {.lr = 1e-2});
  const auto error_of = [&](fit_options options, auto& optimizer) {
    options.resume = true;
    options.epochs = 3;
    try {
      fit(*model, optimizer, mse{}, xs, ys, options);
    } catch (const checkpoint_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto expect_refused = [&](fit_options options, const std::string& text) {
    const std::string message = error_of(options, opt);
    EXPECT_NE(message.find(text), std::string::npos) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_TRUE(*model == *initial);
    EXPECT_EQ(opt.steps(), 0u);
  };

  fit_options other = o;
  other.batch_size = 8;
  expect_refused(other, "is of a run with batch_size = 16, this one has 8");
  other = o;
  other.shard_size = 4;
  expect_refused(other, "shard_size = 3, this one has 4");
  other = o;
  other.seed = 12;
  expect_refused(other, "seed = 11, this one has 12");

  sgd wrong_optimizer(*model, {.lr = 0.1});
  const std::string wrong = error_of(o, wrong_optimizer);
  EXPECT_NE(wrong.find("holds the state of \"adam\", not of the optimiser given, \"sgd\""),
            std::string::npos)
      << wrong;

  write_text(path, good.substr(0, good.size() / 2));
  expect_refused(o, "not valid JSON");
  std::string tampered = good;
  tampered.replace(tampered.find("\"order\": [") + 10, 1, "99");
  write_text(path, tampered);
  expect_refused(o, "'order' is not an order of the 37 sequences");
  tampered = good;
  tampered.replace(tampered.find("\"shuffler\": \"") + 13, 1, "x");
  write_text(path, tampered);
  expect_refused(o, "'shuffler' is not a random engine's state");
  tampered = good;
  tampered.replace(tampered.find("\"exp_avg\""), 9, "\"exp_avgX\"");
  write_text(path, tampered);
  expect_refused(o, "optimizer: no 'exp_avg'");

  // Another model's checkpoint.
  write_text(path, good);
  using Other = network<lstm<2, 12>, dense<12, 1>>;
  Other other_model;
  adam other_opt(other_model);
  try {
    fit(other_model, other_opt, mse{}, xs, ys, [&] {
      fit_options r = o;
      r.resume = true;
      return r;
    }());
    ADD_FAILURE() << "no error";
  } catch (const checkpoint_error& e) {
    EXPECT_NE(std::string(e.what()).find("not of the model being trained, "), std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

TEST(Checkpoint, AFailedWriteKeepsThePreviousCheckpoint) {
  const auto directory = temporary("dir");
  std::filesystem::create_directories(directory);
  fit_options o = sine_options(1);
  o.epochs = 1;
  o.checkpoint = directory / "missing" / "run.json";
  try {
    train_sines(o);
    ADD_FAILURE() << "no error";
  } catch (const checkpoint_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write checkpoint"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(directory);
}

}  // namespace
