// Forecasts the yearly sunspot number with an LSTM trained by rnnx, and compares it with the
// persistence baseline and with the same model trained by PyTorch from the same initial weights.
//
// Usage: forecasting_demo [--epochs N] [--data sunspots.csv] [--out DIR] [--no-torch] [--no-plot]
//                         [--max-ratio R]
// The data and scripts default to the files next to this source, the output directory to this
// example's build directory (all baked in by CMake).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/fit.hpp>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "example_support.hpp"

#ifndef RNNX_FORECASTING_DIR
#define RNNX_FORECASTING_DIR "."
#endif
#ifndef RNNX_FORECASTING_OUT
#define RNNX_FORECASTING_OUT "."
#endif

namespace {

namespace fs = std::filesystem;
namespace ex = rnnx_example;

constexpr std::size_t kHidden = 32;
// Must match train_torch.py, which reads the sizes from the initial weights this demo writes.
using Model = rnnx::network<rnnx::lstm<1, kHidden>, rnnx::dense<kHidden, 1>>;

// Two solar cycles (about 11 years each) of context per prediction.
constexpr std::size_t kWindow = 22;
// The held-out tail: 1969-2008, nearly four cycles the model never trains on.
constexpr std::size_t kTestYears = 40;
constexpr std::size_t kBatch = 16;
constexpr double kLearningRate = 5e-3;
constexpr std::uint64_t kSeed = 1700;
constexpr std::size_t kProgressEvery = 25;  // epochs per progress line

struct Options {
  fs::path data = fs::path(RNNX_FORECASTING_DIR) / "sunspots.csv";
  fs::path out = RNNX_FORECASTING_OUT;
  std::size_t epochs = 200;
  bool torch = true;
  bool plot = true;
  // Exit non-zero unless the one-step RMSE is below this fraction of persistence's.
  double max_ratio = 0.6;
};

struct Series {
  std::vector<int> years;
  std::vector<double> values;
};

struct Training {
  double seconds = 0, final_loss = 0;
  std::vector<double> losses;  // per epoch
};

// One model's forecasts of the held-out years, in sunspot numbers.
struct Forecast {
  std::vector<double> one_step, recursive;
  Training training;
};

Options parse_arguments(int argc, char** argv) {
  Options options;
  for (ex::Arguments args(argc, argv); args.next();) {
    const std::string_view arg = args.current();
    const auto value = [&] { return args.required_value(" (see --help)"); };
    if (arg == "--epochs") {
      options.epochs = ex::parse_count(arg, value());
    } else if (arg == "--data") {
      options.data = value();
    } else if (arg == "--out") {
      options.out = value();
    } else if (arg == "--max-ratio") {
      options.max_ratio = ex::parse_number(
          arg, value(), [](double r) { return r > 0; }, "a positive number");
    } else if (arg == "--no-torch") {
      options.torch = false;
    } else if (arg == "--no-plot") {
      options.plot = false;
    } else if (args.is_help()) {
      args.usage(
          "[--epochs N] [--data sunspots.csv] [--out DIR] [--no-torch] [--no-plot] "
          "[--max-ratio R]");
    } else {
      throw args.unexpected();
    }
  }
  return options;
}

// "YEAR","SUNACTIVITY" then one "1700,5" line per year, consecutive years.
Series load_series(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open the data file '" + path.string() + "'");
  Series series;
  std::string line;
  std::getline(in, line);  // header
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    std::istringstream fields(line);
    int year = 0;
    char comma = 0;
    double value = 0;
    if (!(fields >> year >> comma >> value) || comma != ',' || !std::isfinite(value) || value < 0)
      throw std::runtime_error(path.string() + ":" + std::to_string(number) +
                               ": expected 'year,sunspot number', got '" + line + "'");
    if (!series.years.empty() && year != series.years.back() + 1)
      throw std::runtime_error(path.string() + ":" + std::to_string(number) + ": year " +
                               std::to_string(year) + " does not follow " +
                               std::to_string(series.years.back()));
    series.years.push_back(year);
    series.values.push_back(value);
  }
  if (series.values.size() < kTestYears + kWindow + kBatch)
    throw std::runtime_error(path.string() + ": " + std::to_string(series.values.size()) +
                             " years are too few for a " + std::to_string(kTestYears) +
                             "-year test and " + std::to_string(kWindow) + "-year windows");
  return series;
}

// Standardises with the training years' statistics only, so nothing of the test leaks in.
struct Scaler {
  double mean = 0, std = 1;
  explicit Scaler(std::span<const double> train) {
    for (const double v : train) mean += v;
    mean /= double(train.size());
    double var = 0;
    for (const double v : train) var += (v - mean) * (v - mean);
    std = std::sqrt(var / double(train.size()));
    if (!(std > 0)) throw std::runtime_error("the training years are constant: nothing to learn");
  }
  float scale(double v) const { return float((v - mean) / std); }
  double unscale(float v) const { return double(v) * std + mean; }
};

// A window of kWindow years, kWindow x 1, as forward_last takes it.
xt::xtensor<float, 2> window(const std::vector<float>& scaled, std::size_t end) {
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({kWindow, 1});
  std::copy(scaled.begin() + std::ptrdiff_t(end - kWindow), scaled.begin() + std::ptrdiff_t(end),
            xs.begin());
  return xs;
}

// Many-to-many next-year prediction: every year of a window is trained to predict the next.
// Only windows whose targets all lie before the test years are used.
void training_windows(const std::vector<float>& scaled, std::size_t first_test,
                      xt::xtensor<float, 3>& inputs, xt::xtensor<float, 3>& targets) {
  const std::size_t count = first_test - kWindow;
  inputs = xt::xtensor<float, 3>::from_shape({count, kWindow, 1});
  targets = xt::xtensor<float, 3>::from_shape({count, kWindow, 1});
  for (std::size_t w = 0; w < count; ++w)
    for (std::size_t t = 0; t < kWindow; ++t) {
      inputs(w, t, 0) = scaled[w + t];
      targets(w, t, 0) = scaled[w + t + 1];
    }
}

// One step ahead from the true history, and recursively from the last training year (each
// prediction becomes the newest input), for every test year.
Forecast forecast(const Model& model, const std::vector<float>& scaled, std::size_t first_test,
                  const Scaler& scaler) {
  Forecast f;
  for (std::size_t t = first_test; t < scaled.size(); ++t)
    f.one_step.push_back(scaler.unscale(model.forward_last(window(scaled, t))[0]));
  std::vector<float> history(scaled.begin(), scaled.begin() + std::ptrdiff_t(first_test));
  for (std::size_t t = first_test; t < scaled.size(); ++t) {
    history.push_back(model.forward_last(window(history, history.size()))[0]);
    f.recursive.push_back(scaler.unscale(history.back()));
  }
  return f;
}

double rmse(std::span<const double> forecast, std::span<const double> truth) {
  double sum = 0;
  for (std::size_t i = 0; i < truth.size(); ++i)
    sum += (forecast[i] - truth[i]) * (forecast[i] - truth[i]);
  return std::sqrt(sum / double(truth.size()));
}

void write_json(const fs::path& path, const nlohmann::json& doc) {
  std::ofstream out(path);
  out << doc.dump(1) << '\n';
  if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
}

// The same model, data, initial weights, epochs, batch size and optimiser in PyTorch: the demo
// hands the scaled windows to train_torch.py and reads its forecasts back.
Forecast train_torch(const Options& options, const xt::xtensor<float, 3>& inputs,
                     const xt::xtensor<float, 3>& targets, const std::vector<float>& scaled,
                     std::size_t first_test, const Scaler& scaler) {
  const fs::path job = options.out / "torch_job.json", result = options.out / "torch_result.json";
  nlohmann::json doc;
  doc["initial_weights"] = (options.out / "initial_weights.json").string();
  doc["epochs"] = options.epochs;
  doc["batch_size"] = kBatch;
  doc["lr"] = kLearningRate;
  doc["seed"] = kSeed;
  doc["progress_every"] = kProgressEvery;
  doc["window"] = kWindow;
  doc["inputs"] = std::vector<float>(inputs.begin(), inputs.end());
  doc["targets"] = std::vector<float>(targets.begin(), targets.end());
  doc["series"] = scaled;
  doc["first_test"] = first_test;
  write_json(job, doc);
  const fs::path script = fs::path(RNNX_FORECASTING_DIR) / "train_torch.py";
  const std::string command =
      ex::python_command(ex::shell_quote(script.string()), {job.string(), result.string()});
  if (!ex::run_command(command)) throw std::runtime_error("PyTorch training failed: " + command);
  std::ifstream in(result);
  const nlohmann::json r = nlohmann::json::parse(in);
  Forecast f;
  for (const float v : r.at("one_step").get<std::vector<float>>())
    f.one_step.push_back(scaler.unscale(v));
  for (const float v : r.at("recursive").get<std::vector<float>>())
    f.recursive.push_back(scaler.unscale(v));
  f.training = {r.at("train_seconds").get<double>(), r.at("final_loss").get<double>(),
                r.at("losses").get<std::vector<double>>()};
  return f;
}

// fit() in blocks of kProgressEvery epochs, to print one progress line per block.
Training train(Model& model, const xt::xtensor<float, 3>& inputs,
               const xt::xtensor<float, 3>& targets, std::size_t epochs) {
  rnnx::adam optimizer(model, {.lr = kLearningRate});
  Training result;
  std::size_t updates = 0;
  const ex::Stopwatch stopwatch;
  for (std::size_t done = 0; done < epochs;) {
    const std::size_t block = std::min(kProgressEvery, epochs - done);
    // A new seed per block: each call restarts fit's shuffler.
    const auto history = rnnx::fit(model, optimizer, rnnx::mse{}, inputs, targets,
                                   {.epochs = block, .batch_size = kBatch, .seed = kSeed + done});
    done += block;
    for (const auto& epoch : history) {
      updates += epoch.updates;
      result.losses.push_back(epoch.loss);
    }
    result.final_loss = history.back().loss;
    result.seconds = stopwatch.seconds();
    std::printf("  epoch %4zu/%zu  loss %.5f  %8.0f sequences/s  %6.0f updates/s  %.2f s\n", done,
                epochs, result.final_loss, double(done * inputs.shape(0)) / result.seconds,
                double(updates) / result.seconds, result.seconds);
  }
  return result;
}

int run(const Options& options) {
  const Series series = load_series(options.data);
  const std::size_t years = series.values.size(), first_test = years - kTestYears;
  const Scaler scaler(std::span(series.values).first(first_test));
  std::vector<float> scaled;
  for (const double v : series.values) scaled.push_back(scaler.scale(v));
  xt::xtensor<float, 3> inputs, targets;
  training_windows(scaled, first_test, inputs, targets);
  fs::create_directories(options.out);

  std::printf("data       %s: yearly sunspot numbers %d-%d\n", options.data.string().c_str(),
              series.years.front(), series.years.back());
  std::printf("split      train %d-%d (%zu windows of %zu years), test %d-%d (%zu years)\n",
              series.years.front(), series.years[first_test - 1], inputs.shape(0), kWindow,
              series.years[first_test], series.years.back(), kTestYears);
  std::printf("model      %s, MSE on every year's next-year value\n", Model::description().c_str());
  std::printf("training   %zu epochs, batch %zu, Adam lr %g, seed %llu\n\n", options.epochs, kBatch,
              kLearningRate, static_cast<unsigned long long>(kSeed));

  auto model = std::make_unique<Model>();
  rnnx::initialize(*model, kSeed);
  // PyTorch starts from exactly these weights, so the two runs differ only in the framework.
  rnnx::save_weights(*model, options.out / "initial_weights.json");

  std::printf("rnnx training\n");
  const Training training = train(*model, inputs, targets, options.epochs);
  Forecast ours = forecast(*model, scaled, first_test, scaler);
  ours.training = training;
  rnnx::save_weights(*model, options.out / "model.json");

  std::optional<Forecast> theirs;
  const std::string torch_note = ex::torch_skip_note(options.torch, "skipped (--no-torch)");
  if (torch_note.empty()) {
    std::printf("\nPyTorch training (same initial weights, data and settings)\n");
    theirs = train_torch(options, inputs, targets, scaled, first_test, scaler);
  }

  const std::span truth = std::span(series.values).subspan(first_test);
  std::vector<double> persistence(series.values.begin() + std::ptrdiff_t(first_test - 1),
                                  series.values.end() - 1);
  const std::vector<double> flat(kTestYears, series.values[first_test - 1]);
  const double base_rmse = rmse(persistence, truth);
  const double our_rmse = rmse(ours.one_step, truth);

  std::printf("\nheld-out %d-%d, RMSE in sunspot numbers (observed mean %.1f)\n",
              series.years[first_test], series.years.back(),
              std::accumulate(truth.begin(), truth.end(), 0.0) / double(truth.size()));
  std::printf("  %-22s %14s %16s %14s %12s\n", "", "one step ahead", "recursive 40 y", "final loss",
              "training s");
  std::printf("  %-22s %14.1f %16.1f %14s %12s\n", "persistence y[t-1]", base_rmse,
              rmse(flat, truth), "-", "-");
  std::printf("  %-22s %14.1f %16.1f %14.5f %12.2f\n", "rnnx LSTM", our_rmse,
              rmse(ours.recursive, truth), ours.training.final_loss, ours.training.seconds);
  if (theirs) {
    std::printf("  %-22s %14.1f %16.1f %14.5f %12.2f\n", "PyTorch LSTM",
                rmse(theirs->one_step, truth), rmse(theirs->recursive, truth),
                theirs->training.final_loss, theirs->training.seconds);
    std::printf("  training time: rnnx %.2f s, PyTorch %.2f s (%.1fx)\n", ours.training.seconds,
                theirs->training.seconds, theirs->training.seconds / ours.training.seconds);
  } else {
    std::printf("  %-22s %s\n", "PyTorch LSTM", torch_note.c_str());
  }
  std::printf(
      "  (recursive: from %d onwards, each forecast fed back as input; persistence "
      "repeats %d's value)\n",
      series.years[first_test - 1] + 1, series.years[first_test - 1]);

  nlohmann::json results;
  results["years"] =
      std::vector<int>(series.years.begin() + std::ptrdiff_t(first_test), series.years.end());
  results["history_years"] = series.years;
  results["history"] = series.values;
  results["truth"] = std::vector<double>(truth.begin(), truth.end());
  results["persistence"] = persistence;
  results["rnnx"] = {
      {"one_step", ours.one_step}, {"recursive", ours.recursive}, {"losses", ours.training.losses}};
  if (theirs)
    results["torch"] = {{"one_step", theirs->one_step},
                        {"recursive", theirs->recursive},
                        {"losses", theirs->training.losses}};
  const fs::path results_path = options.out / "forecast.json";
  write_json(results_path, results);
  std::printf("\nwrote %s and the trained weights %s\n", results_path.string().c_str(),
              (options.out / "model.json").string().c_str());

  const fs::path plot_script = fs::path(RNNX_FORECASTING_DIR) / "plot_forecast.py";
  const fs::path png = options.out / "forecast.png";
  const std::string plot_command = ex::python_command(ex::shell_quote(plot_script.string()),
                                                      {results_path.string(), png.string()});
  if (!options.plot)
    std::printf("plot skipped (--no-plot); to draw it: %s\n", plot_command.c_str());
  else if (ex::draw_plot(plot_command))
    std::printf("wrote %s\n", png.string().c_str());

  const double ratio = our_rmse / base_rmse;
  if (!(ratio < options.max_ratio))
    return ex::fail(
        "\nFAIL: one-step RMSE %.1f is %.2f of persistence's %.1f (must be below %.2f)\n", our_rmse,
        ratio, base_rmse, options.max_ratio);
  std::printf("\nOK: one-step RMSE %.1f is %.2f of persistence's %.1f (bound %.2f)\n", our_rmse,
              ratio, base_rmse, options.max_ratio);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return ex::guarded_main("forecasting_demo", [&] { return run(parse_arguments(argc, argv)); });
}
