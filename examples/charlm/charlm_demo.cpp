// A character-level language model of "The Adventures of Sherlock Holmes": an LSTM reads the
// book one character at a time (one-hot) and learns to predict the next one. It reports bits per
// character on the last 10% of the book, which it never trains on, next to simple baselines and
// next to the same model trained by PyTorch, then writes with a temperature and a seed.
//
// Usage: charlm_demo [options]        (charlm_demo --help lists them)

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "charlm.hpp"
#include "example_support.hpp"

#ifndef RNNX_CHARLM_DIR  // this folder: the committed weights and the Python scripts
#define RNNX_CHARLM_DIR "."
#endif
#ifndef RNNX_CHARLM_OUT
#define RNNX_CHARLM_OUT "charlm_out"
#endif
#ifndef RNNX_CHARLM_GENERATOR
#define RNNX_CHARLM_GENERATOR ""
#endif

namespace {

namespace fs = std::filesystem;
namespace ex = rnnx_example;
using charlm::Model;
using charlm::vocabulary;
using ex::kPython;
using ex::shell_quote;

// The Debian package golang-github-bkaradzic-go-lz4-dev ships Project Gutenberg's pg1661.txt.
constexpr const char* kDefaultText =
    "/usr/share/gocode/src/github.com/bkaradzic/go-lz4/testdata/pg1661.txt";

struct Options {
  fs::path text = kDefaultText;
  std::size_t chars = 0;  // 0: the whole book
  std::size_t steps = 600, batch = 32, bptt = 64, eval_every = 100;
  std::size_t threads = 0, shard_size = 4;  // 0: every core
  double lr = 0.02, clip = 5;
  std::uint32_t seed = 1;
  std::optional<double> max_bpc;
  fs::path weights;  // given: load instead of training
  fs::path out = RNNX_CHARLM_OUT;
  std::string prompt = "Holmes";
  std::size_t length = 400;
  double temperature = 0.7;
  bool torch = true, plot = true;
};

constexpr const char* kUsage = R"(usage: charlm_demo [options]
  --text FILE        the book (default: pg1661.txt from golang-github-bkaradzic-go-lz4-dev)
  --chars N          use only its first N characters (default: all)
  --steps N          training updates (default 600)
  --batch B          parallel streams of text per update (default 32)
  --bptt T           characters per update and stream, truncated BPTT (default 64)
  --threads N        threads that train (default 0: every core); any N gives the same model
  --shard-size S     streams per unit of parallel work (default 4; it groups the gradient's
                     sum, so it changes the last bits of the result, the thread count does not)
  --lr X             Adam learning rate (default 0.02)
  --clip X           gradient norm clipping (default 5)
  --eval-every N     held-out evaluation interval in updates (default 100)
  --seed S           initialisation and sampling seed (default 1)
  --max-bpc X        fail unless the held-out bits per character end below X
  --weights FILE     skip training: evaluate and sample these weights
  --out DIR          where weights, logs and plots go (default: the build's examples/charlm)
  --prompt TEXT      --length N  --temperature X   sampling (default "Holmes", 400, 0.7)
  --no-torch         skip the PyTorch comparison
  --no-plot          skip the plot
)";

template <class Number>
Number number(std::string_view flag, const char* text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  if (used == 0 || text[used] != '\0' || !(value >= 0) ||
      value > double(std::numeric_limits<Number>::max()) ||
      (std::is_integral_v<Number> && value != std::floor(value)))
    throw std::invalid_argument(std::string(flag) +
                                " needs a non-negative number (in range), not '" + text + "'");
  return static_cast<Number>(value);
}

Options parse_arguments(int argc, char** argv) {
  Options o;
  for (ex::Arguments args(argc, argv); args.next();) {
    const std::string_view arg = args.current();
    const auto value = [&] { return args.required_value(); };
    if (args.is_help()) {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--text") {
      o.text = value();
    } else if (arg == "--chars") {
      o.chars = number<std::size_t>(arg, value());
    } else if (arg == "--steps") {
      o.steps = number<std::size_t>(arg, value());
    } else if (arg == "--batch") {
      o.batch = number<std::size_t>(arg, value());
    } else if (arg == "--bptt") {
      o.bptt = number<std::size_t>(arg, value());
    } else if (arg == "--threads") {
      o.threads = number<std::size_t>(arg, value());
    } else if (arg == "--shard-size") {
      o.shard_size = number<std::size_t>(arg, value());
    } else if (arg == "--lr") {
      o.lr = number<double>(arg, value());
    } else if (arg == "--clip") {
      o.clip = number<double>(arg, value());
    } else if (arg == "--eval-every") {
      o.eval_every = number<std::size_t>(arg, value());
    } else if (arg == "--seed") {
      o.seed = number<std::uint32_t>(arg, value());
    } else if (arg == "--max-bpc") {
      o.max_bpc = number<double>(arg, value());
    } else if (arg == "--weights") {
      o.weights = value();
    } else if (arg == "--out") {
      o.out = value();
    } else if (arg == "--prompt") {
      o.prompt = value();
    } else if (arg == "--length") {
      o.length = number<std::size_t>(arg, value());
    } else if (arg == "--temperature") {
      o.temperature = number<double>(arg, value());
    } else if (arg == "--no-torch") {
      o.torch = false;
    } else if (arg == "--no-plot") {
      o.plot = false;
    } else {
      throw args.unexpected("unknown argument");
    }
  }
  if (o.steps == 0 || o.batch == 0 || o.bptt == 0 || o.eval_every == 0 || o.shard_size == 0)
    throw std::invalid_argument(
        "--steps, --batch, --bptt, --eval-every and --shard-size must be positive");
  if (o.prompt.empty()) throw std::invalid_argument("--prompt must not be empty");
  if (!(o.temperature > 0)) throw std::invalid_argument("--temperature must be positive");
  return o;
}

// The book as symbols: the Project Gutenberg header and licence cut off, CRLF as LF, each
// UTF-8 sequence outside the alphabet one "other" symbol.
std::vector<std::uint8_t> read_book(const fs::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read '" + path.string() +
                             "'; scripts/demo charlm installs it (Debian package "
                             "golang-github-bkaradzic-go-lz4-dev), or pass --text FILE");
  std::string text{std::istreambuf_iterator<char>(in), {}};
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // UTF-8 byte order mark
  if (const auto start = text.find("*** START OF"); start != std::string::npos)
    text.erase(0, text.find('\n', start) + 1);
  if (const auto end = text.find("*** END OF"); end != std::string::npos) text.resize(end);
  std::vector<std::uint8_t> symbols;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\r' || (byte >= 0x80 && byte < 0xC0)) continue;  // CR, UTF-8 continuation bytes
    if (symbols.empty() && c == '\n') continue;
    symbols.push_back(static_cast<std::uint8_t>(charlm::encode(c)));
  }
  while (!symbols.empty() && symbols.back() == charlm::encode('\n')) symbols.pop_back();
  if (limit != 0 && limit < symbols.size()) symbols.resize(limit);
  return symbols;
}

// Cross-entropy of `test` under add-one smoothed character counts of `train`: what a model that
// ignores all context (unigram) or all but the previous character (bigram) achieves.
std::array<double, 2> baselines(const std::vector<std::uint8_t>& train,
                                const std::vector<std::uint8_t>& test) {
  std::vector<double> uni(vocabulary, 1.0), bi(vocabulary * vocabulary, 1.0);
  for (std::size_t i = 0; i < train.size(); ++i) {
    uni[train[i]] += 1;
    if (i > 0) bi[train[i - 1] * vocabulary + train[i]] += 1;
  }
  std::vector<double> row(vocabulary, 0.0);
  for (std::size_t a = 0; a < vocabulary; ++a)
    for (std::size_t b = 0; b < vocabulary; ++b) row[a] += bi[a * vocabulary + b];
  const double total = double(train.size()) + vocabulary;
  double uni_bits = 0, bi_bits = 0;
  for (std::size_t i = 1; i < test.size(); ++i) {
    uni_bits -= std::log2(uni[test[i]] / total);
    bi_bits -= std::log2(bi[test[i - 1] * vocabulary + test[i]] / row[test[i - 1]]);
  }
  const double n = double(test.size() - 1);
  return {uni_bits / n, bi_bits / n};
}

// Bits per character predicting test[1..] from test[..n-1], from the zero state.
double bits_per_char(const Model& model, const std::vector<std::uint8_t>& test) {
  xt::xtensor<float, 2> xs = xt::zeros<float>({test.size() - 1, vocabulary});
  for (std::size_t t = 0; t + 1 < test.size(); ++t) xs(t, test[t]) = 1;
  xt::xtensor<std::size_t, 1> next = xt::xtensor<std::size_t, 1>::from_shape({test.size() - 1});
  std::copy(test.begin() + 1, test.end(), next.begin());
  return rnnx::cross_entropy{}(model.forward(xs), next) / std::numbers::ln2;
}

// Threads that train: --threads (0: every core), at most one per shard of streams.
std::size_t training_threads(const Options& o) {
  return std::min(o.threads == 0 ? rnnx::available_threads() : o.threads,
                  (o.batch + o.shard_size - 1) / o.shard_size);
}

struct Progress {
  std::size_t step;
  double train_bpc;
  double test_bpc;  // NaN where not evaluated
  double seconds;   // training time so far
};

struct Training {
  double seconds = 0;  // updates only, without the held-out evaluations
  double final_bpc = 0;
  std::vector<Progress> log;
};

// B streams read the training text side by side, each a contiguous 1/B of it, T characters per
// update; the state is carried from update to update (gradients are not) and reset when the
// streams wrap round to their starts. train_torch.py batches identically. The streams run as
// shards of o.shard_size on o.threads threads (rnnx::sharded_tape): the same model for any
// number of threads.
Training train(Model& model, const std::vector<std::uint8_t>& text,
               const std::vector<std::uint8_t>& test, const Options& o) {
  const std::size_t B = o.batch, T = o.bptt;
  const std::size_t stream = (text.size() - 1) / B, chunks = stream / T;
  if (chunks == 0)
    throw std::invalid_argument("the training text (" + std::to_string(text.size()) +
                                " characters) is too short for --batch " + std::to_string(B) +
                                " x --bptt " + std::to_string(T));
  rnnx::adam optimizer(model, {.lr = o.lr});
  rnnx::sharded_tape<Model> tape({.shard_size = o.shard_size, .threads = o.threads});
  auto grads = std::make_unique<Model>();
  std::vector<Model::state> states(B);
  xt::xtensor<float, 3> xs = xt::zeros<float>({B, T, vocabulary});
  xt::xtensor<std::size_t, 2> next = xt::xtensor<std::size_t, 2>::from_shape({B, T});

  Training result;
  double window_bits = 0, window_seconds = 0;
  std::size_t window_steps = 0;
  std::printf("%8s %7s %12s %12s %10s %10s\n", "update", "epoch", "train bpc", "held-out",
              "chars/s", "seconds");
  for (std::size_t step = 1; step <= o.steps; ++step) {
    const ex::Stopwatch stopwatch;
    const std::size_t chunk = (step - 1) % chunks;
    if (chunk == 0)
      for (auto& s : states) s.reset();
    xs.fill(0);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 0; t < T; ++t) {
        const std::size_t at = b * stream + chunk * T + t;
        xs(b, t, text[at]) = 1;
        next(b, t) = text[at + 1];
      }
    const double loss = tape.gradients(model, rnnx::cross_entropy{}, xs, next, states, *grads);
    if (o.clip > 0) rnnx::clip_grad_norm(*grads, o.clip);
    optimizer.step(model, *grads);
    const double seconds = stopwatch.seconds();

    result.seconds += seconds;
    window_seconds += seconds;
    window_bits += loss / std::numbers::ln2;
    ++window_steps;
    Progress p{step, loss / std::numbers::ln2, std::nan(""), result.seconds};
    if (step % o.eval_every == 0 || step == o.steps) {
      p.test_bpc = bits_per_char(model, test);
      std::printf("%8zu %7.2f %12.3f %12.3f %10.0f %10.1f\n", step, double(step) / double(chunks),
                  window_bits / double(window_steps), p.test_bpc,
                  double(window_steps * B * T) / window_seconds, result.seconds);
      std::fflush(stdout);
      window_bits = window_seconds = 0;
      window_steps = 0;
      result.final_bpc = p.test_bpc;
    }
    result.log.push_back(p);
  }
  return result;
}

std::string exact(double x) {  // as text that reads back as the same double
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", x);
  return text;
}

struct TorchResult {
  double seconds, final_bpc;
  std::string version;
};

// Trains the same model from the same initial weights on the same batches in PyTorch.
std::optional<TorchResult> train_torch(const std::vector<std::uint8_t>& text,
                                       const std::vector<std::uint8_t>& test, const fs::path& init,
                                       const Options& o) {
  const fs::path data = o.out / "charlm_data.bin", result = o.out / "charlm_torch.json";
  {
    std::ofstream out(data, std::ios::binary);
    out.write(reinterpret_cast<const char*>(text.data()), std::streamsize(text.size()));
    out.write(reinterpret_cast<const char*>(test.data()), std::streamsize(test.size()));
  }
  fs::remove(result);
  const std::string command =
      std::string(kPython) + " " + shell_quote(RNNX_CHARLM_DIR "/train_torch.py") + " --data " +
      shell_quote(data.string()) + " --train-chars " + std::to_string(text.size()) +
      " --vocabulary " + std::to_string(vocabulary) + " --init " + shell_quote(init.string()) +
      " --steps " + std::to_string(o.steps) + " --batch " + std::to_string(o.batch) + " --bptt " +
      std::to_string(o.bptt) + " --lr " + exact(o.lr) + " --clip " + exact(o.clip) +
      " --eval-every " + std::to_string(o.eval_every) + " --threads " +
      std::to_string(training_threads(o)) + " --result " + shell_quote(result.string());
  std::printf("\n== PyTorch: %s\n", command.c_str());
  if (!ex::run_command(command)) {
    std::printf("PyTorch training failed (see above); no comparison\n");
    return std::nullopt;
  }
  std::ifstream in(result);
  const auto doc = nlohmann::json::parse(in);
  return TorchResult{doc.at("seconds"), doc.at("final_bpc"), doc.at("torch_version")};
}

void write_log(const fs::path& path, const std::vector<Progress>& log) {
  std::ofstream out(path);
  out << "update,train_bpc,test_bpc,seconds\n";
  for (const auto& p : log) {
    out << p.step << ',' << p.train_bpc << ',';
    if (!std::isnan(p.test_bpc)) out << p.test_bpc;
    out << ',' << p.seconds << '\n';
  }
}

// The header check: charlm_generate, compiled from a header that rnnx-codegen made of the
// committed model.json, must write exactly what this program writes from load_weights.
bool generated_header_agrees(const Options& o) {
  const fs::path generator = RNNX_CHARLM_GENERATOR, committed = RNNX_CHARLM_DIR "/model.json";
  if (generator.empty()) {  // built without CMake: no generated header to compare with
    std::printf("generated header check: skipped (no charlm_generate)\n");
    return true;
  }
  if (!fs::exists(generator)) {
    std::printf("generated header check: %s is missing (build target charlm_generate)\n",
                generator.c_str());
    return false;
  }
  auto model = std::make_unique<Model>();
  rnnx::load_weights(*model, committed);
  const std::string expected =
      charlm::sample(*model, o.prompt, o.length, o.temperature, o.seed) + "\n";
  const std::string command = shell_quote(generator.string()) + " --seed " +
                              std::to_string(o.seed) + " --length " + std::to_string(o.length) +
                              " --temperature " + exact(o.temperature) + " --prompt " +
                              shell_quote(o.prompt);
  std::string got;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
      got.append(buffer, n);
    if (pclose(pipe) != 0) got += "\n(charlm_generate failed)";
  }
  const bool same = got == expected;
  std::printf(
      "generated header check: charlm_generate (rnnx-codegen header of %s) and "
      "load_weights write %s for seed %u (%zu characters)\n",
      committed.filename().c_str(), same ? "the same text" : "DIFFERENT texts", o.seed, o.length);
  if (!same)
    std::printf("load_weights:\n%s\ncharlm_generate:\n%s\n", expected.c_str(), got.c_str());
  return same;
}

int run(const Options& o) {
  const auto book = read_book(o.text, o.chars);
  if (book.size() < 1000)
    throw std::invalid_argument("only " + std::to_string(book.size()) +
                                " characters of text; need at least 1000");
  // The last 10% is held out: a different story than the training text mostly reads.
  const std::size_t split = book.size() - book.size() / 10;
  const std::vector<std::uint8_t> text(book.begin(), book.begin() + std::ptrdiff_t(split));
  const std::vector<std::uint8_t> test(book.begin() + std::ptrdiff_t(split), book.end());
  const auto [unigram, bigram] = baselines(text, test);
  fs::create_directories(o.out);

  std::printf("text       %s\n           %zu characters: %zu to train on, the last %zu held out\n",
              o.text.string().c_str(), book.size(), text.size(), test.size());
  std::printf("model      %s, %zu symbols one-hot\n", Model::description().c_str(), vocabulary);

  auto model = std::make_unique<Model>();
  std::optional<Training> trained;
  std::optional<TorchResult> torch;
  if (!o.weights.empty()) {
    rnnx::load_weights(*model, o.weights);
    std::printf("weights    %s\n", o.weights.string().c_str());
  } else {
    rnnx::initialize(*model, o.seed);
    const fs::path init = o.out / "charlm_init.json";
    rnnx::save_weights(*model, init);  // PyTorch starts from these too
    std::printf(
        "training   %zu updates of %zu streams x %zu characters, Adam lr %g, clip %g "
        "(%.2f epochs), on %zu threads\n\n",
        o.steps, o.batch, o.bptt, o.lr, o.clip,
        double(o.steps * o.batch * o.bptt) / double(text.size()), training_threads(o));
    trained = train(*model, text, test, o);
    rnnx::save_weights(*model, o.out / "charlm_model.json");
    write_log(o.out / "charlm_rnnx.csv", trained->log);
    std::ofstream(o.out / "charlm_baselines.csv")
        << "baseline,bpc\nunigram," << unigram << "\nbigram," << bigram << '\n';
    const std::string torch_note = ex::torch_skip_note(o.torch, "skipped (--no-torch)");
    if (torch_note.empty())
      torch = train_torch(text, test, init, o);
    else
      std::printf("\nPyTorch comparison: %s\n", torch_note.c_str());
  }
  const double bpc = trained ? trained->final_bpc : bits_per_char(*model, test);

  std::printf("\nheld-out bits per character (last %zu characters)\n", test.size());
  std::printf("  %-34s %8s %12s %12s\n", "", "bpc", "train time", "ms/update");
  std::printf("  %-34s %8.3f\n", "uniform over the alphabet", std::log2(double(vocabulary)));
  std::printf("  %-34s %8.3f\n", "unigram (character frequencies)", unigram);
  std::printf("  %-34s %8.3f\n", "bigram (previous character)", bigram);
  if (trained)
    std::printf("  %-34s %8.3f %10.1f s %12.2f\n", "rnnx LSTM", bpc, trained->seconds,
                1e3 * trained->seconds / double(o.steps));
  else
    std::printf("  %-34s %8.3f\n", "rnnx LSTM (loaded)", bpc);
  if (torch) {
    const std::string name = "PyTorch " + torch->version + " LSTM";
    std::printf("  %-34s %8.3f %10.1f s %12.2f\n", name.c_str(), torch->final_bpc, torch->seconds,
                1e3 * torch->seconds / double(o.steps));
    std::printf("  rnnx trains %.1fx faster (%zu thread%s each)\n",
                torch->seconds / trained->seconds, training_threads(o),
                training_threads(o) == 1 ? "" : "s");
  }
  if (trained) std::printf("  weights written to %s\n", (o.out / "charlm_model.json").c_str());

  const ex::Stopwatch sampling;
  const std::string sample = charlm::sample(*model, o.prompt, o.length, o.temperature, o.seed);
  std::printf("\nsample (seed %u, temperature %g; %.1f us per character, a step() each):\n%s\n\n",
              o.seed, o.temperature, 1e6 * sampling.seconds() / double(o.prompt.size() + o.length),
              sample.c_str());

  if (trained && o.plot) {
    if (!ex::python_has("matplotlib"))
      std::printf(
          "plot: skipped, matplotlib not installed (apt-get install python3-matplotlib, "
          "then %s %s/plot.py %s)\n",
          kPython, RNNX_CHARLM_DIR, o.out.c_str());
    else if (!ex::run_command(
                 ex::python_command(shell_quote(RNNX_CHARLM_DIR "/plot.py"), {o.out.string()})))
      std::printf("plot: plot.py failed\n");
  }

  bool ok = generated_header_agrees(o);
  // A model that learned anything beats the unigram baseline; --max-bpc asks for more.
  const double bound = o.max_bpc.value_or(unigram);
  if (!(bpc < bound)) {
    ex::fail("FAIL: held-out %.3f bits per character, not below %.3f\n", bpc, bound);
    ok = false;
  } else {
    std::printf("OK: held-out %.3f bits per character < %.3f%s\n", bpc, bound,
                o.max_bpc ? "" : " (unigram baseline)");
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return ex::guarded_main("charlm_demo", [&] {
    try {
      return run(parse_arguments(argc, argv));
    } catch (const rnnx::weights_error& e) {
      throw std::runtime_error(std::string("cannot load the weights: ") + e.what());
    }
  });
}
