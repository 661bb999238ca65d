// A recurrent cell that rnnx does not ship, declared here as its equations and nothing else,
// then trained, saved, reloaded and streamed like a built-in one: JANET, the "forget-gate-only"
// LSTM of van der Westhuizen & Lasenby ("The unreasonable effectiveness of the forget gate",
// 2018), whose output is its cell:
//   s = W_f x + b_if + U_f h + b_hf      h' = sigmoid(s) * h + (1 - sigmoid(s - 1)) * tanh(W_c x + ...)
// Forecasts next year's sunspot number (examples/forecasting/sunspots.csv) and checks that
// training lowers the loss, that the reloaded model is bit-identical to the trained one, and
// that streaming the held-out years step by step gives the whole-sequence forward's outputs.
//
// Usage: custom_cell_demo [--epochs N] [--out DIR]

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/fit.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>


// The whole cell: what a user writes.
struct janet_equations {
  static constexpr std::string_view name = "janet";
  static constexpr std::size_t gates = 2;  // f, c
  static constexpr auto equations() {
    using namespace rnnx::expr;
    constexpr auto s = W<0> + U<0>;
    return next(sigmoid(s) * h + (one - sigmoid(s - one)) * tanh(W<1> + U<1>));
  }
};
template <std::size_t In, std::size_t H>
using janet = rnnx::cell<janet_equations, In, H>;

namespace {

namespace fs = std::filesystem;
using Model = rnnx::network<janet<1, 24>, rnnx::dense<24, 1>>;
constexpr std::size_t kWindow = 22, kTestYears = 40;

std::vector<float> load_scaled_series(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open the data file '" + path.string() + "'");
  std::vector<double> values;
  std::string line;
  std::getline(in, line);  // "YEAR","SUNACTIVITY"
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    double year = 0, value = 0;
    char comma = 0;
    if (fields >> year >> comma >> value) values.push_back(value);
  }
  if (values.size() < kWindow + kTestYears + 16)
    throw std::runtime_error(path.string() + ": too few years");
  double mean = 0, var = 0;
  for (double v : values) mean += v / double(values.size());
  for (double v : values) var += (v - mean) * (v - mean) / double(values.size());
  std::vector<float> scaled;
  for (double v : values) scaled.push_back(float((v - mean) / std::sqrt(var)));
  return scaled;
}

int run(int epochs, const fs::path& out) {
  const auto series = load_scaled_series(fs::path(RNNX_CUSTOM_CELL_DATA));
  const std::size_t train_end = series.size() - kTestYears, windows = train_end - kWindow;
  xt::xtensor<float, 3> inputs = xt::xtensor<float, 3>::from_shape({windows, kWindow, 1});
  xt::xtensor<float, 3> targets = xt::xtensor<float, 3>::from_shape({windows, kWindow, 1});
  for (std::size_t w = 0; w < windows; ++w)
    for (std::size_t t = 0; t < kWindow; ++t) {
      inputs(w, t, 0) = series[w + t];
      targets(w, t, 0) = series[w + t + 1];
    }
  std::printf("model   %s\n", Model::description().c_str());
  std::printf("%s", rnnx::summary<Model>().c_str());

  auto model = std::make_unique<Model>();
  rnnx::initialize(*model, 2018);
  rnnx::adam optimizer(*model, {.lr = 5e-3});
  const auto history = rnnx::fit(*model, optimizer, rnnx::mse{}, inputs, targets,
                                 {.epochs = std::size_t(epochs), .batch_size = 16, .seed = 7});
  std::printf("train   %d epochs: loss %.4f -> %.4f\n", epochs, history.front().loss,
              history.back().loss);
  if (!(history.back().loss < 0.5 * history.front().loss))
    throw std::runtime_error("training did not halve the loss");

  fs::create_directories(out);
  const fs::path file = out / "janet.json";
  rnnx::save_weights(*model, file);
  auto reloaded = std::make_unique<Model>();
  rnnx::load_weights(*reloaded, file);
  if (!(*reloaded == *model)) throw std::runtime_error("the reloaded weights differ");
  std::printf("saved   %s and reloaded it: identical weights\n", file.string().c_str());

  // The held-out years, streamed one sample at a time as a plug-in would, against forward.
  xt::xtensor<float, 2> tail = xt::xtensor<float, 2>::from_shape({kTestYears, 1});
  for (std::size_t t = 0; t < kTestYears; ++t) tail(t, 0) = series[train_end - 1 + t];
  const auto whole = model->forward(tail);
  auto state = reloaded->initial_state();
  double squared = 0, persistence = 0;
  for (std::size_t t = 0; t < kTestYears; ++t) {
    const float y = reloaded->step(tail(t, 0), state)[0];
    if (std::memcmp(&y, &whole(t, 0), sizeof y) != 0)
      throw std::runtime_error("streaming step " + std::to_string(t) + " differs from forward");
    if (t + 1 < kTestYears) {
      squared += (y - tail(t + 1, 0)) * (y - tail(t + 1, 0));
      persistence += (tail(t, 0) - tail(t + 1, 0)) * (tail(t, 0) - tail(t + 1, 0));
    }
  }
  std::printf("stream  %zu held-out years step by step == forward, bit for bit\n", kTestYears);
  std::printf("test    one-step RMSE %.3f (persistence %.3f, standardised units)\n",
              std::sqrt(squared / double(kTestYears - 1)),
              std::sqrt(persistence / double(kTestYears - 1)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int epochs = 60;
    fs::path out = RNNX_CUSTOM_CELL_OUT;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--epochs" && i + 1 < argc) epochs = std::stoi(argv[++i]);
      else if (arg == "--out" && i + 1 < argc) out = argv[++i];
      else throw std::invalid_argument("unknown argument '" + arg + "' (usage: custom_cell_demo "
                                       "[--epochs N] [--out DIR])");
    }
    return run(epochs, out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "custom_cell_demo: %s\n", e.what());
    return 1;
  }
}
