// Which language is a word from? A GRU reads a word one letter at a time (one-hot) and names
// its language after the last letter: English, French, German, Spanish or Italian. The words
// come from Debian's spell-checker word lists in /usr/share/dict (packages wamerican, wfrench,
// wngerman, wspanish, witalian). The same model is trained on the same data in PyTorch, in the
// same run, when PyTorch is installed.
//
// Usage: classification_demo [options] [WORD...]   (WORDs are classified after training)
//   --words N         words per language, 80% train / 20% held out (default 6000)
//   --epochs N        training epochs (default 10)
//   --min-accuracy A  exit 1 if held-out accuracy is below A (default 0.8)
//   --dict-dir DIR    where the word lists are (default /usr/share/dict)
//   --no-torch        skip the PyTorch comparison
//   --no-plot         skip the plot

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <rnnx/rnnx.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <xtensor/xview.hpp>

#include "example_support.hpp"

#ifndef RNNX_CLASSIFICATION_DIR
#define RNNX_CLASSIFICATION_DIR "."
#endif
#ifndef RNNX_CLASSIFICATION_OUT
#define RNNX_CLASSIFICATION_OUT "."
#endif

namespace {

namespace ex = rnnx_example;

struct Language {
  const char* name;
  const char* file;     // in /usr/share/dict
  const char* package;  // the Debian package that installs it
};
constexpr std::array<Language, 5> kLanguages{{{"English", "american-english", "wamerican"},
                                              {"French", "french", "wfrench"},
                                              {"German", "ngerman", "wngerman"},
                                              {"Spanish", "spanish", "wspanish"},
                                              {"Italian", "italian", "witalian"}}};

// a-z and the accented letters these five languages use; anything else (a stray å in an English
// loan word) shares the last symbol, so one odd letter cannot give a word away.
constexpr std::u32string_view kAlphabet = U"abcdefghijklmnopqrstuvwxyzàáâäçèéêëìíîïñòóôöùúûüß";
constexpr std::size_t kSymbols = kAlphabet.size() + 1;
constexpr std::size_t kHidden = 64;
constexpr std::size_t kClasses = kLanguages.size();
// Shorter words say little about their language; longer ones (German compounds) only cost time.
constexpr std::size_t kMinLength = 3, kMaxLength = 12;
constexpr std::size_t kBatch = 32;
constexpr double kLearningRate = 5e-3;
constexpr std::uint64_t kSeed = 20240611;

using Classifier = rnnx::network<rnnx::gru<kSymbols, kHidden>, rnnx::dense<kHidden, kClasses>>;

struct Options {
  std::size_t words_per_language = 6000;
  std::size_t epochs = 10;
  double min_accuracy = 0.8;
  std::filesystem::path dict_dir = "/usr/share/dict";
  bool torch = true, plot = true;
  std::vector<std::string> words;
};

struct Example {
  std::string word;              // UTF-8, lower case
  std::vector<std::size_t> ids;  // one symbol index per letter
  std::size_t label;
};

struct Dataset {
  std::vector<Example> train, test;
};

struct History {
  std::vector<double> loss, accuracy, seconds;  // per epoch; seconds: training only
};

Options parse_arguments(int argc, char** argv) {
  Options o;
  for (ex::Arguments args(argc, argv); args.next();) {
    const std::string_view arg = args.current();
    if (arg == "--words") {
      o.words_per_language = ex::parse_count(arg, args.value());
      if (o.words_per_language < 10) throw std::invalid_argument("--words needs at least 10");
    } else if (arg == "--epochs") {
      o.epochs = ex::parse_count(arg, args.value());
    } else if (arg == "--min-accuracy") {
      o.min_accuracy = ex::parse_number(
          arg, args.value(), [](double a) { return a >= 0 && a <= 1; }, "a number between 0 and 1");
    } else if (arg == "--dict-dir") {
      const char* dir = args.value();
      if (dir == nullptr) throw std::invalid_argument("--dict-dir needs a directory");
      o.dict_dir = dir;
    } else if (arg == "--no-torch") {
      o.torch = false;
    } else if (arg == "--no-plot") {
      o.plot = false;
    } else if (args.is_help()) {
      args.usage(
          "[--words N] [--epochs N] [--min-accuracy A] [--dict-dir DIR] [--no-torch] [--no-plot] "
          "[WORD...]");
    } else if (arg.starts_with("-")) {
      throw args.unexpected("unknown option", "(try --help)");
    } else {
      o.words.emplace_back(arg);
    }
  }
  return o;
}

// UTF-8 to code points, or empty for malformed input (such a line is skipped like a non-word).
std::u32string decode(std::string_view s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int extra = c < 0x80         ? 0
                      : (c >> 5) == 6  ? 1
                      : (c >> 4) == 14 ? 2
                      : (c >> 3) == 30 ? 3
                                       : -1;
    if (extra < 0 || i + static_cast<std::size_t>(extra) >= s.size()) return {};
    char32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d >> 6) != 2) return {};
      cp = (cp << 6) | (d & 0x3F);
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

// Lower-cases A-Z and Latin-1's capitals (À-Þ but ×); false if the word holds a non-letter
// (apostrophe, hyphen, digit, space), which drops English possessives and French elisions.
bool normalise(std::u32string& word) {
  for (char32_t& c : word) {
    if ((c >= U'A' && c <= U'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7)) c += 0x20;
    const bool letter = (c >= U'a' && c <= U'z') || (c >= 0xDF && c != 0xF7);
    if (!letter) return false;
  }
  return true;
}

std::string encode_utf8(std::u32string_view word) {
  std::string out;
  for (const char32_t c : word) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::vector<std::size_t> symbol_ids(std::u32string_view word) {
  std::vector<std::size_t> ids;
  for (const char32_t c : word) ids.push_back(std::min(kAlphabet.find(c), kSymbols - 1));
  return ids;
}

std::set<std::u32string> read_word_list(const std::filesystem::path& dir, const Language& lang) {
  const std::filesystem::path path = dir / lang.file;
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot open " + path.string() + ", the " + lang.name +
                             " word list: install Debian's " + lang.package + " (apt-get install " +
                             lang.package + "; scripts/demo classification does it for you)");
  std::set<std::u32string> words;
  for (std::string line; std::getline(in, line);) {
    std::u32string word = decode(line);
    if (word.size() >= kMinLength && word.size() <= kMaxLength && normalise(word))
      words.insert(std::move(word));
  }
  return words;
}

Dataset load_dataset(const Options& options) {
  std::array<std::set<std::u32string>, kClasses> lists;
  std::map<std::u32string, int> languages_of;
  for (std::size_t l = 0; l < kClasses; ++l) {
    lists[l] = read_word_list(options.dict_dir, kLanguages[l]);
    for (const auto& w : lists[l]) ++languages_of[w];
  }
  Dataset data;
  std::mt19937_64 rng(kSeed);
  const std::size_t test_count = options.words_per_language / 5;
  for (std::size_t l = 0; l < kClasses; ++l) {
    // A word in two lists ("taxi", "radio") has no one right answer.
    std::vector<std::u32string> words;
    for (const auto& w : lists[l])
      if (languages_of[w] == 1) words.push_back(w);
    if (words.size() < options.words_per_language)
      throw std::runtime_error(std::string(kLanguages[l].name) + " has only " +
                               std::to_string(words.size()) + " usable words, fewer than --words " +
                               std::to_string(options.words_per_language));
    ex::shuffle(words, rng);
    for (std::size_t i = 0; i < options.words_per_language; ++i) {
      Example e{encode_utf8(words[i]), symbol_ids(words[i]), l};
      (i < test_count ? data.test : data.train).push_back(std::move(e));
    }
  }
  return data;
}

// One-hot letters, batch x steps x symbols; every word of a batch has the same length.
xt::xtensor<float, 3> one_hot(const std::vector<const Example*>& batch) {
  const std::size_t steps = batch.front()->ids.size();
  xt::xtensor<float, 3> xs = xt::zeros<float>({batch.size(), steps, kSymbols});
  for (std::size_t b = 0; b < batch.size(); ++b)
    for (std::size_t t = 0; t < steps; ++t) xs(b, t, batch[b]->ids[t]) = 1;
  return xs;
}

// rnnx::tape takes equal-length sequences, so the words are grouped by length and each batch
// comes from one group; the batches of all lengths are then shuffled together.
std::vector<std::vector<const Example*>> make_batches(const std::vector<Example>& examples,
                                                      std::mt19937_64& rng) {
  std::map<std::size_t, std::vector<const Example*>> by_length;
  for (const Example& e : examples) by_length[e.ids.size()].push_back(&e);
  return ex::same_length_batches(std::move(by_length), kBatch, rng);
}

std::array<float, kClasses> probabilities(const Classifier& model,
                                          const std::vector<std::size_t>& ids) {
  xt::xtensor<float, 2> xs = xt::zeros<float>({ids.size(), kSymbols});
  for (std::size_t t = 0; t < ids.size(); ++t) xs(t, ids[t]) = 1;
  const xt::xtensor<float, 1> logits = model.forward_last(xs);
  std::array<float, kClasses> p;
  const float top = *std::max_element(logits.begin(), logits.end());
  float sum = 0;
  for (std::size_t c = 0; c < kClasses; ++c) sum += p[c] = std::exp(logits(c) - top);
  for (float& v : p) v /= sum;
  return p;
}

std::size_t predict(const Classifier& model, const Example& e) {
  const auto p = probabilities(model, e.ids);
  return static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
}

double accuracy(const Classifier& model, const std::vector<Example>& examples) {
  std::size_t right = 0;
  for (const Example& e : examples) right += predict(model, e) == e.label;
  return double(right) / double(examples.size());
}

History train(Classifier& model, const Dataset& data, std::size_t epochs) {
  rnnx::initialize(model, kSeed);
  rnnx::adam optimizer(model, {.lr = kLearningRate});
  rnnx::tape<Classifier> tape;
  auto grads = std::make_unique<Classifier>();
  std::mt19937_64 rng(kSeed);
  History history;
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    const ex::Stopwatch stopwatch;
    double loss_sum = 0;
    for (const auto& batch : make_batches(data.train, rng)) {
      const xt::xtensor<float, 3> ys = tape.forward(model, one_hot(batch));
      // Many-to-one: the loss sees the output after the last letter only.
      const std::size_t last = ys.shape(1) - 1;
      const xt::xtensor<float, 2> logits = xt::view(ys, xt::all(), last, xt::all());
      xt::xtensor<std::size_t, 1> labels = xt::empty<std::size_t>({batch.size()});
      for (std::size_t b = 0; b < batch.size(); ++b) labels(b) = batch[b]->label;
      xt::xtensor<float, 2> dlogits;
      loss_sum += double(rnnx::cross_entropy{}(logits, labels, dlogits)) * double(batch.size());
      xt::xtensor<float, 3> dys = xt::zeros<float>(ys.shape());
      xt::view(dys, xt::all(), last, xt::all()) = dlogits;
      rnnx::zero(*grads);
      tape.backward_parameters(model, dys, *grads);
      optimizer.step(model, *grads);
    }
    const double seconds = stopwatch.seconds();
    history.loss.push_back(loss_sum / double(data.train.size()));
    history.seconds.push_back(seconds);
    history.accuracy.push_back(accuracy(model, data.test));
    std::printf(
        "  rnnx   epoch %2zu/%zu  loss %.4f  held-out accuracy %5.1f%%  %7.0f words/s  %.2f s\n",
        epoch, epochs, history.loss.back(), 100 * history.accuracy.back(),
        double(data.train.size()) / seconds, seconds);
    std::fflush(stdout);
  }
  return history;
}

// The data exactly as rnnx trains on it, so PyTorch sees the same words, split and encoding.
void write_torch_data(const std::filesystem::path& path, const Dataset& data,
                      const Options& options) {
  std::ofstream out(path);
  out << "symbols " << kSymbols << " hidden " << kHidden << " classes " << kClasses << " epochs "
      << options.epochs << " batch " << kBatch << " lr " << kLearningRate << " seed " << kSeed
      << '\n';
  for (const auto* split : {&data.train, &data.test})
    for (const Example& e : *split) {
      out << (split == &data.train ? "train " : "test ") << e.label;
      for (const std::size_t id : e.ids) out << ' ' << id;
      out << '\n';
    }
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Runs train_torch.py, echoing its progress; its last line is the result as JSON.
nlohmann::json run_torch(const Dataset& data, const Options& options) {
  const std::filesystem::path data_file =
      std::filesystem::path(RNNX_CLASSIFICATION_OUT) / "classification_torch_data.txt";
  write_torch_data(data_file, data, options);
  const std::string command =
      ex::python_command(RNNX_CLASSIFICATION_DIR "/train_torch.py", {data_file.string()});
  const std::string result = ex::run_echoing_result(command);
  std::filesystem::remove(data_file);
  if (result.empty()) throw std::runtime_error("PyTorch training failed: " + command);
  return nlohmann::json::parse(result);
}

// printf pads by bytes; accented letters take two, so words are padded by letters instead.
std::string padded(const std::string& word, std::size_t width) {
  const std::size_t letters = decode(word).size();
  return word + std::string(width > letters ? width - letters : 0, ' ');
}

int run(const Options& options) {
  const ex::Stopwatch load_time;
  const Dataset data = load_dataset(options);
  std::printf("model     %s\n", Classifier::description().c_str());
  std::printf(
      "data      %zu words per language from %s (Debian wamerican, wfrench, wngerman,\n"
      "          wspanish, witalian), %zu-%zu letters, lower case, words in two lists\n"
      "          dropped; %zu train / %zu held out, read in %.2f s\n\n",
      options.words_per_language, options.dict_dir.string().c_str(), kMinLength, kMaxLength,
      data.train.size(), data.test.size(), load_time.seconds());

  // About 330 kB of padded weights: on the heap, as the README recommends.
  auto model = std::make_unique<Classifier>();
  std::printf("training  GRU, Adam lr %g, batches of %zu same-length words, %zu epochs\n",
              kLearningRate, kBatch, options.epochs);
  const History history = train(*model, data, options.epochs);
  const double rnnx_seconds = std::accumulate(history.seconds.begin(), history.seconds.end(), 0.0);

  nlohmann::json torch;  // null: not run
  const std::string torch_note = ex::torch_skip_note(options.torch);
  if (torch_note.empty()) {
    std::printf("\ntraining  the same model in PyTorch (train_torch.py, same data and settings)\n");
    std::fflush(stdout);
    torch = run_torch(data, options);
  }

  // Confusion matrix and examples on the held-out words.
  std::array<std::array<std::size_t, kClasses>, kClasses> confusion{};
  for (const Example& e : data.test) ++confusion[e.label][predict(*model, e)];
  std::printf("\nheld-out confusion matrix (rows: true language, columns: predicted)\n%9s", "");
  for (const auto& lang : kLanguages) std::printf("%9.7s", lang.name);
  std::printf("%9s\n", "recall");
  for (std::size_t t = 0; t < kClasses; ++t) {
    std::printf("%9s", kLanguages[t].name);
    std::size_t total = 0;
    for (const std::size_t n : confusion[t]) std::printf("%9zu", n), total += n;
    std::printf("%9s\n", ex::percent(double(confusion[t][t]) / double(total)).c_str());
  }

  std::printf("\nexample held-out words\n");
  for (std::size_t i = 0; i < data.test.size(); i += data.test.size() / 10) {
    const Example& e = data.test[i];
    const auto p = probabilities(*model, e.ids);
    const auto best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    std::printf("  %s %-8s -> %-8s %3.0f%%%s\n", padded(e.word, 16).c_str(),
                kLanguages[e.label].name, kLanguages[best].name, 100 * p[best],
                best == e.label ? "" : "  wrong");
  }
  for (const std::string& word : options.words) {
    std::u32string w = decode(word);
    if (w.empty() || !normalise(w)) {
      std::printf("  %s (skipped: not a word of letters)\n", padded(word, 16).c_str());
      continue;
    }
    const auto p = probabilities(*model, symbol_ids(w));
    const auto best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    std::printf("  %s %-8s -> %-8s %3.0f%%\n", padded(encode_utf8(w), 16).c_str(), "(yours)",
                kLanguages[best].name, 100 * p[best]);
  }

  const double held_out = history.accuracy.back();
  std::printf(
      "\nresults (held-out words: %zu; majority-class baseline %s, the split is balanced)\n",
      data.test.size(), ex::percent(1.0 / kClasses).c_str());
  // Medians of the epochs as well as totals: on a shared machine one slow epoch skews a total.
  const auto row = [&](const char* name, double total, std::vector<double> epochs, double loss,
                       double acc) {
    const double median = ex::median(std::move(epochs));
    std::printf("  %-8s %10.2f s %11.3f s %10.0f %11.4f %14s", name, total, median,
                double(data.train.size()) / median, loss, ex::percent(acc).c_str());
    return median;
  };
  std::printf("  %-8s %12s %13s %10s %11s %14s\n", "", "train time", "median epoch", "words/s",
              "final loss", "held-out acc.");
  const double rnnx_median =
      row("rnnx", rnnx_seconds, history.seconds, history.loss.back(), held_out);
  std::printf("\n");
  if (torch.is_null()) {
    std::printf("  %-8s %s\n", "PyTorch", torch_note.c_str());
  } else {
    const double seconds = torch["seconds"].get<double>();
    const double median = row("PyTorch", seconds, torch["epoch_seconds"], torch["loss"].back(),
                              torch["accuracy"].back());
    std::printf("  (torch %s, %d thread)\n", torch["version"].get<std::string>().c_str(),
                torch["threads"].get<int>());
    std::printf("  rnnx trained %.1fx faster than PyTorch in total, %.1fx by median epoch\n",
                seconds / rnnx_seconds, median / rnnx_median);
  }

  if (options.plot) {
    const std::filesystem::path out = RNNX_CLASSIFICATION_OUT;
    nlohmann::json results = {
        {"languages", nlohmann::json::array()},
        {"rnnx",
         {{"loss", history.loss}, {"accuracy", history.accuracy}, {"seconds", history.seconds}}},
        {"torch", torch},
        {"confusion", confusion}};
    for (const auto& lang : kLanguages) results["languages"].push_back(lang.name);
    std::ofstream(out / "classification.json") << results.dump(1) << '\n';
    const std::string command = ex::python_command(
        RNNX_CLASSIFICATION_DIR "/plot.py",
        {(out / "classification.json").string(), (out / "classification.png").string()});
    if (ex::draw_plot(command, "\n"))
      std::printf("\nplot      %s\n", (out / "classification.png").string().c_str());
  }

  if (!(held_out >= options.min_accuracy))
    return ex::fail("\nFAIL: held-out accuracy %s is below %s\n", ex::percent(held_out).c_str(),
                    ex::percent(options.min_accuracy).c_str());
  std::printf("\nOK: held-out accuracy %s >= %s\n", ex::percent(held_out).c_str(),
              ex::percent(options.min_accuracy).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return ex::guarded_main("classification_demo", [&] { return run(parse_arguments(argc, argv)); });
}
