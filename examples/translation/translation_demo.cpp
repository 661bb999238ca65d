// Translation with attention: dates as people write them ("3rd of March 1998", "Tue, 03/03/98",
// "march 3 1998") to ISO 8601 ("1998-03-03"), character by character. An encoder GRU reads the
// written date, a decoder GRU writes the ISO date starting from the encoder's final state, and
// at every output character Luong attention looks back over the encoder's outputs. The data is
// generated here from a fixed seed (dates 1950-2049 in 14 formats people use); held-out dates
// are never seen in training. The same model is trained on the same batches in PyTorch, in the
// same run, when PyTorch is installed.
//
// Usage: translation_demo [options] [DATE...]   (DATEs are translated after training)
//   --train N         training examples (default 16000)
//   --test N          held-out examples, one per held-out date (default 1000)
//   --epochs N        training epochs (default 5)
//   --min-accuracy A  exit 1 if held-out greedy exact match is below A (default 0.95)
//   --no-torch        skip the PyTorch comparison
//   --no-plot         skip the attention heat map

#include <algorithm>
#include <array>
#include <chrono>
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
#include <rnnx/seq2seq/decoding.hpp>
#include <rnnx/seq2seq/encoder_decoder.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "example_support.hpp"

#ifndef RNNX_TRANSLATION_DIR
#define RNNX_TRANSLATION_DIR "."
#endif
#ifndef RNNX_TRANSLATION_OUT
#define RNNX_TRANSLATION_OUT "."
#endif

namespace {

namespace chr = std::chrono;
namespace ex = rnnx_example;

// Source: printable ASCII (id 1-95), anything else id 0. Target: the ISO date's characters.
constexpr std::size_t kSourceVocabulary = 96;
constexpr std::string_view kTargetChars = "0123456789-";
constexpr std::size_t kStart = 0, kEnd = 1, kTargetVocabulary = kTargetChars.size() + 2;
constexpr std::size_t kIsoLength = 10;  // "1998-03-03"

constexpr std::size_t kEmbedding = 16, kHidden = 64, kHeadSize = 64;
constexpr std::size_t kBatch = 32, kBeamWidth = 4;
constexpr double kLearningRate = 1e-2, kDecay = 0.75, kClipNorm = 5.0;
constexpr std::uint64_t kSeed = 19980303;

// Same hidden size in both GRUs, so the encoder's final state can start the decoder. General
// (Luong) scores, e = q . (W m): the keys W m are computed once per source, so each output
// character costs one dot product per source character; additive scores would add a tanh
// layer per pair, and the task (find the day, month and year fields) needs no more.
using Encoder =
    rnnx::network<rnnx::embedding<kSourceVocabulary, kEmbedding>, rnnx::gru<kEmbedding, kHidden>>;
using Decoder =
    rnnx::network<rnnx::embedding<kTargetVocabulary, kEmbedding>, rnnx::gru<kEmbedding, kHidden>>;
using Translator =
    rnnx::encoder_decoder<Encoder, Decoder, rnnx::attention<kHidden, kHidden, rnnx::general_score>,
                          rnnx::network<rnnx::dense<2 * kHidden, kHeadSize, rnnx::tanh>,
                                        rnnx::dense<kHeadSize, kTargetVocabulary>>>;

struct Options {
  std::size_t train = 16000, test = 1000, epochs = 5;
  double min_accuracy = 0.95;
  bool torch = true, plot = true;
  std::vector<std::string> dates;
};

struct Example {
  std::string text, iso;
  std::size_t format;
};

struct Dataset {
  std::vector<Example> train, test;
};

// ---- the data: dates written as people write them ----------------------------------------

constexpr std::array<const char*, 12> kMonths{"January",   "February", "March",    "April",
                                              "May",       "June",     "July",     "August",
                                              "September", "October",  "November", "December"};
constexpr std::array<const char*, 7> kWeekdays{"Sunday",   "Monday", "Tuesday", "Wednesday",
                                               "Thursday", "Friday", "Saturday"};

struct Date {
  int year;
  unsigned month, day, weekday;  // month 1-12, weekday 0 = Sunday
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return s;
}
std::string two_digits(unsigned n) { return {char('0' + n / 10 % 10), char('0' + n % 10)}; }
std::string ordinal(unsigned d) {
  const char* suffix = (d % 100 >= 11 && d % 100 <= 13) ? "th"
                       : d % 10 == 1                    ? "st"
                       : d % 10 == 2                    ? "nd"
                       : d % 10 == 3                    ? "rd"
                                                        : "th";
  return std::to_string(d) + suffix;
}

// One entry per format, with the 1998-03-03 (a Tuesday) example the README lists. Slashes are
// month first (US), dots day first (Europe), so every written date has one reading; two-digit
// years are unambiguous because the dates span 1950-2049 only.
struct Format {
  const char* example;
  std::string (*write)(const Date&);
};
const std::array<Format, 14> kFormats{{
    {"3rd of March 1998",
     [](const Date& d) {
       return ordinal(d.day) + " of " + kMonths[d.month - 1] + " " + std::to_string(d.year);
     }},
    {"Tue, 03/03/98",
     [](const Date& d) {
       return std::string(kWeekdays[d.weekday], 3) + ", " + two_digits(d.month) + "/" +
              two_digits(d.day) + "/" + two_digits(unsigned(d.year % 100));
     }},
    {"march 3 1998",
     [](const Date& d) {
       return lower(kMonths[d.month - 1]) + " " + std::to_string(d.day) + " " +
              std::to_string(d.year);
     }},
    {"1998.3.3",
     [](const Date& d) {
       return std::to_string(d.year) + "." + std::to_string(d.month) + "." + std::to_string(d.day);
     }},
    {"March 3, 1998",
     [](const Date& d) {
       return std::string(kMonths[d.month - 1]) + " " + std::to_string(d.day) + ", " +
              std::to_string(d.year);
     }},
    {"3 Mar 1998",
     [](const Date& d) {
       return std::to_string(d.day) + " " + std::string(kMonths[d.month - 1], 3) + " " +
              std::to_string(d.year);
     }},
    {"Tuesday, March 3, 1998",
     [](const Date& d) {
       return std::string(kWeekdays[d.weekday]) + ", " + kMonths[d.month - 1] + " " +
              std::to_string(d.day) + ", " + std::to_string(d.year);
     }},
    {"03.03.1998",
     [](const Date& d) {
       return two_digits(d.day) + "." + two_digits(d.month) + "." + std::to_string(d.year);
     }},
    {"3/3/1998",
     [](const Date& d) {
       return std::to_string(d.month) + "/" + std::to_string(d.day) + "/" + std::to_string(d.year);
     }},
    {"Tue 3 Mar 1998",
     [](const Date& d) {
       return std::string(kWeekdays[d.weekday], 3) + " " + std::to_string(d.day) + " " +
              std::string(kMonths[d.month - 1], 3) + " " + std::to_string(d.year);
     }},
    {"the 3rd of march, 1998",
     [](const Date& d) {
       return "the " + ordinal(d.day) + " of " + lower(kMonths[d.month - 1]) + ", " +
              std::to_string(d.year);
     }},
    {"Mar 3rd '98",
     [](const Date& d) {
       return std::string(kMonths[d.month - 1], 3) + " " + ordinal(d.day) + " '" +
              two_digits(unsigned(d.year % 100));
     }},
    {"03-MAR-1998",
     [](const Date& d) {
       return two_digits(d.day) + "-" + upper(std::string(kMonths[d.month - 1], 3)) + "-" +
              std::to_string(d.year);
     }},
    {"Tuesday 3rd March 1998",
     [](const Date& d) {
       return std::string(kWeekdays[d.weekday]) + " " + ordinal(d.day) + " " +
              kMonths[d.month - 1] + " " + std::to_string(d.year);
     }},
}};

std::vector<Date> all_dates() {
  std::vector<Date> dates;
  const chr::sys_days first = chr::year{1950} / chr::January / 1,
                      last = chr::year{2049} / chr::December / 31;
  for (chr::sys_days day = first; day <= last; day += chr::days{1}) {
    const chr::year_month_day ymd{day};
    dates.push_back({int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()),
                     chr::weekday{day}.c_encoding()});
  }
  return dates;
}

std::string iso(const Date& d) {
  return std::to_string(d.year) + "-" + two_digits(d.month) + "-" + two_digits(d.day);
}

// The held-out examples are the first `test` dates of a shuffled calendar, each in a random
// format; training draws its dates from the rest, so no held-out date is ever seen. Shuffles
// and draws use the engine's raw output: the same data with every standard library.
Dataset make_dataset(const Options& options) {
  std::vector<Date> dates = all_dates();
  if (options.test >= dates.size() / 2)
    throw std::invalid_argument("--test must be below " + std::to_string(dates.size() / 2));
  std::mt19937_64 rng(kSeed);
  ex::shuffle(dates, rng);
  Dataset data;
  const auto example = [&](const Date& d) {
    const std::size_t f = rng() % kFormats.size();
    return Example{kFormats[f].write(d), iso(d), f};
  };
  for (std::size_t i = 0; i < options.test; ++i) data.test.push_back(example(dates[i]));
  const std::size_t pool = dates.size() - options.test;
  for (std::size_t i = 0; i < options.train; ++i)
    data.train.push_back(example(dates[options.test + rng() % pool]));
  return data;
}

std::vector<std::size_t> source_ids(std::string_view text) {
  std::vector<std::size_t> ids;
  for (const char c : text) ids.push_back(c >= 32 && c < 127 ? std::size_t(c - 31) : 0);
  return ids;
}
std::vector<std::size_t> target_ids(std::string_view iso) {
  std::vector<std::size_t> ids;
  for (const char c : iso) ids.push_back(kTargetChars.find(c) + 2);
  return ids;
}
std::string target_text(const std::vector<std::size_t>& ids) {
  std::string s;
  for (const std::size_t id : ids)
    if (id >= 2) s += kTargetChars[id - 2];
  return s;
}

// ---- training -----------------------------------------------------------------------------

// seq2seq_tape takes equal-length sources, so examples are grouped by source length and each
// batch comes from one group (targets are all 10 characters + end); the batches of all lengths
// are then shuffled together.
std::vector<std::vector<std::size_t>> make_batches(const std::vector<Example>& examples,
                                                   std::mt19937_64& rng) {
  std::map<std::size_t, std::vector<std::size_t>> by_length;
  for (std::size_t i = 0; i < examples.size(); ++i) by_length[examples[i].text.size()].push_back(i);
  return ex::same_length_batches(std::move(by_length), kBatch, rng);
}

xt::xtensor<float, 2> source_tensor(std::string_view text) {
  const auto ids = source_ids(text);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({ids.size(), 1});
  for (std::size_t t = 0; t < ids.size(); ++t) x(t, 0) = float(ids[t]);
  return x;
}

std::vector<std::size_t> greedy(const Translator& model, std::string_view text) {
  return rnnx::greedy_decode(model, source_tensor(text), kStart, kEnd, kIsoLength + 2).tokens;
}

// Exact match: every character of the ISO date, then the end token (as train_torch.py counts).
bool exact(const std::vector<std::size_t>& tokens, const Example& e) {
  auto expected = target_ids(e.iso);
  expected.push_back(kEnd);
  return tokens == expected;
}

double exact_match(const Translator& model, const std::vector<Example>& examples) {
  std::size_t right = 0;
  for (const Example& e : examples) right += exact(greedy(model, e.text), e);
  return double(right) / double(examples.size());
}

// Large steps first, then smaller ones: with a constant rate the held-out accuracy swings by
// several points from one epoch to the next.
double learning_rate(std::size_t epoch) { return kLearningRate * std::pow(kDecay, double(epoch)); }

std::vector<double> learning_rates(std::size_t epochs) {
  std::vector<double> rates;
  for (std::size_t e = 0; e < epochs; ++e) rates.push_back(learning_rate(e));
  return rates;
}

struct History {
  std::vector<double> loss, accuracy, seconds;  // per epoch; seconds: training only
  std::size_t updates = 0;
};

History train(Translator& model, const Dataset& data,
              const std::vector<std::vector<std::vector<std::size_t>>>& epochs) {
  rnnx::adam optimizer(model, {.lr = kLearningRate});
  // Every core: each batch runs as shards of 8 examples, the same model for any thread count.
  rnnx::sharded_seq2seq_tape<Translator> tape({.shard_size = 8, .threads = 0});
  auto grads = std::make_unique<Translator>();
  History history;
  for (std::size_t epoch = 0; epoch < epochs.size(); ++epoch) {
    optimizer.set_lr(learning_rate(epoch));
    const ex::Stopwatch stopwatch;
    double loss_sum = 0;
    for (const auto& batch : epochs[epoch]) {
      const std::size_t B = batch.size(), S = data.train[batch[0]].text.size();
      xt::xtensor<float, 3> source = xt::xtensor<float, 3>::from_shape({B, S, 1});
      xt::xtensor<float, 3> target_in = xt::xtensor<float, 3>::from_shape({B, kIsoLength + 1, 1});
      xt::xtensor<std::size_t, 2> target =
          xt::xtensor<std::size_t, 2>::from_shape({B, kIsoLength + 1});
      for (std::size_t b = 0; b < B; ++b) {
        const Example& e = data.train[batch[b]];
        const auto src = source_ids(e.text), tgt = target_ids(e.iso);
        for (std::size_t s = 0; s < S; ++s) source(b, s, 0) = float(src[s]);
        // Teacher forcing: the decoder reads start, then the true previous characters.
        target_in(b, 0, 0) = float(kStart);
        for (std::size_t t = 0; t < kIsoLength; ++t) {
          target_in(b, t + 1, 0) = float(tgt[t]);
          target(b, t) = tgt[t];
        }
        target(b, kIsoLength) = kEnd;
      }
      loss_sum +=
          double(tape.gradients(model, rnnx::cross_entropy{}, source, target_in, target, *grads)) *
          double(B);
      rnnx::clip_grad_norm(*grads, kClipNorm);
      optimizer.step(model, *grads);
      ++history.updates;
    }
    const double seconds = stopwatch.seconds();
    history.loss.push_back(loss_sum / double(data.train.size()));
    history.seconds.push_back(seconds);
    history.accuracy.push_back(exact_match(model, data.test));
    std::printf(
        "  rnnx   epoch %2zu/%zu  loss %.4f  held-out exact match %5.1f%%  %6.0f dates/s  "
        "%.2f s\n",
        epoch + 1, epochs.size(), history.loss.back(), 100 * history.accuracy.back(),
        double(data.train.size()) / seconds, seconds);
    std::fflush(stdout);
  }
  return history;
}

// ---- PyTorch ------------------------------------------------------------------------------

// The data, the batches of every epoch in rnnx's order and the initial weights (saved by
// rnnx::save_weights: the chain encoder, decoder, attention, head, with PyTorch's names and
// shapes), so PyTorch makes the same updates from the same start.
void write_torch_data(const std::filesystem::path& path, const Dataset& data,
                      const std::vector<std::vector<std::vector<std::size_t>>>& epochs,
                      const std::filesystem::path& initial_weights) {
  const auto ids = [](const Example& e) {
    nlohmann::json source = source_ids(e.text), target = target_ids(e.iso);
    return nlohmann::json{source, target};
  };
  nlohmann::json j = {{"sizes",
                       {{"source_vocabulary", kSourceVocabulary},
                        {"target_vocabulary", kTargetVocabulary},
                        {"embedding", kEmbedding},
                        {"hidden", kHidden},
                        {"head", kHeadSize}}},
                      {"start", kStart},
                      {"end", kEnd},
                      {"lr", learning_rates(epochs.size())},
                      {"clip", kClipNorm},
                      {"train", nlohmann::json::array()},
                      {"test", nlohmann::json::array()},
                      {"epochs", epochs},
                      {"initial_weights", initial_weights.string()}};
  for (const Example& e : data.train) j["train"].push_back(ids(e));
  for (const Example& e : data.test) j["test"].push_back(ids(e));
  std::ofstream out(path);
  out << j.dump() << '\n';
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Runs train_torch.py, echoing its progress; its last line is the result as JSON.
nlohmann::json run_torch(const std::filesystem::path& data_file) {
  const std::string command =
      ex::python_command(RNNX_TRANSLATION_DIR "/train_torch.py", {data_file.string()});
  const std::string result = ex::run_echoing_result(command);
  if (result.empty()) throw std::runtime_error("PyTorch training failed: " + command);
  return nlohmann::json::parse(result);
}

// ---- command line and report --------------------------------------------------------------

Options parse_arguments(int argc, char** argv) {
  Options o;
  for (ex::Arguments args(argc, argv); args.next();) {
    const std::string_view arg = args.current();
    if (arg == "--train") {
      o.train = ex::parse_count(arg, args.value());
    } else if (arg == "--test") {
      o.test = ex::parse_count(arg, args.value());
    } else if (arg == "--epochs") {
      o.epochs = ex::parse_count(arg, args.value());
    } else if (arg == "--min-accuracy") {
      o.min_accuracy = ex::parse_number(
          arg, args.value(), [](double a) { return a >= 0 && a <= 1; }, "a number between 0 and 1");
    } else if (arg == "--no-torch") {
      o.torch = false;
    } else if (arg == "--no-plot") {
      o.plot = false;
    } else if (args.is_help()) {
      args.usage(
          "[--train N] [--test N] [--epochs N] [--min-accuracy A] [--no-torch] [--no-plot] "
          "[DATE...]");
    } else if (arg.starts_with("--")) {
      throw args.unexpected("unknown option", "(try --help)");
    } else {
      o.dates.emplace_back(arg);
    }
  }
  return o;
}

// Attention maps of two held-out examples in different formats, for plot.py.
nlohmann::json attention_maps(const Translator& model, const Dataset& data) {
  nlohmann::json maps = nlohmann::json::array();
  for (const std::size_t format : {std::size_t{6}, std::size_t{1}}) {
    const auto e = std::find_if(data.test.begin(), data.test.end(),
                                [&](const Example& x) { return x.format == format; });
    if (e == data.test.end()) continue;
    const auto out =
        rnnx::greedy_decode(model, source_tensor(e->text), kStart, kEnd, kIsoLength + 2);
    std::vector<std::vector<float>> rows;
    for (std::size_t t = 0; t < out.attention.shape(0); ++t)
      rows.emplace_back(out.attention.begin() + std::ptrdiff_t(t * out.attention.shape(1)),
                        out.attention.begin() + std::ptrdiff_t((t + 1) * out.attention.shape(1)));
    std::string output = target_text(out.tokens);
    if (!out.tokens.empty() && out.tokens.back() == kEnd) output += '$';  // the end token
    maps.push_back({{"source", e->text}, {"output", output}, {"weights", rows}});
  }
  return maps;
}

int run(const Options& options) {
  const Dataset data = make_dataset(options);
  std::printf("model     %s\n", Translator::description().c_str());
  std::printf(
      "data      synthetic: dates 1950-2049 in %zu written formats -> ISO 8601; %zu training\n"
      "          examples, %zu held-out examples whose dates never occur in training\n",
      kFormats.size(), data.train.size(), data.test.size());
  std::printf("          e.g. \"%s\" -> %s, \"%s\" -> %s\n\n", data.train[0].text.c_str(),
              data.train[0].iso.c_str(), data.train[1].text.c_str(), data.train[1].iso.c_str());

  auto model = std::make_unique<Translator>();
  rnnx::initialize(*model, kSeed);
  const std::filesystem::path out = RNNX_TRANSLATION_OUT;
  if (options.torch)
    rnnx::save_weights(*model, out / "translation_initial.json");  // PyTorch's start
  std::mt19937_64 rng(kSeed + 1);
  std::vector<std::vector<std::vector<std::size_t>>> epochs;
  for (std::size_t e = 0; e < options.epochs; ++e) epochs.push_back(make_batches(data.train, rng));

  std::printf(
      "training  teacher forcing, Adam lr %g x %g^epoch, gradient norm clipped at %g, batches\n"
      "          of %zu same-length dates, %zu epochs\n",
      kLearningRate, kDecay, kClipNorm, kBatch, options.epochs);
  const History history = train(*model, data, epochs);
  const double rnnx_seconds = std::accumulate(history.seconds.begin(), history.seconds.end(), 0.0);

  nlohmann::json torch;  // null: not run
  const std::string torch_note = ex::torch_skip_note(options.torch);
  if (torch_note.empty()) {
    std::printf(
        "\ntraining  the same model in PyTorch (train_torch.py: same initial weights, batches "
        "and updates)\n");
    std::fflush(stdout);
    const std::filesystem::path file = out / "translation_torch_data.json";
    write_torch_data(file, data, epochs, out / "translation_initial.json");
    torch = run_torch(file);
    std::filesystem::remove(file);
  }

  // Held-out exact match: greedy and beam, overall and per format.
  std::vector<std::size_t> greedy_right(kFormats.size()), beam_right(kFormats.size()),
      count(kFormats.size());
  std::vector<std::vector<std::size_t>> greedy_out;
  const ex::Stopwatch greedy_time;
  for (const Example& e : data.test) {
    greedy_out.push_back(greedy(*model, e.text));
    greedy_right[e.format] += exact(greedy_out.back(), e);
    ++count[e.format];
  }
  const double greedy_seconds = greedy_time.seconds();
  const ex::Stopwatch beam_time;
  for (const Example& e : data.test) {
    const auto out =
        rnnx::beam_decode(*model, source_tensor(e.text), kStart, kEnd, kIsoLength + 2, kBeamWidth);
    beam_right[e.format] += exact(out.tokens, e);
  }
  const double beam_seconds = beam_time.seconds();
  const auto total = [](const std::vector<std::size_t>& v) {
    return std::accumulate(v.begin(), v.end(), std::size_t{0});
  };
  const double n = double(data.test.size());
  const double greedy_accuracy = double(total(greedy_right)) / n;
  const double beam_accuracy = double(total(beam_right)) / n;

  std::printf("\nheld-out exact match by format (rnnx)\n  %-26s %6s %8s %8s\n", "format", "dates",
              "greedy", "beam(4)");
  for (std::size_t f = 0; f < kFormats.size(); ++f)
    std::printf("  %-26s %6zu %8s %8s\n", kFormats[f].example, count[f],
                ex::percent(count[f] ? double(greedy_right[f]) / double(count[f]) : 0).c_str(),
                ex::percent(count[f] ? double(beam_right[f]) / double(count[f]) : 0).c_str());

  std::printf("\nexample held-out dates (greedy)\n");
  std::size_t shown = 0, wrong_shown = 0;
  for (std::size_t i = 0; i < data.test.size() && shown < 8; ++i) {
    const bool right = exact(greedy_out[i], data.test[i]);
    if (i % 97 != 0 && (right || wrong_shown >= 2)) continue;  // a spread, and up to 2 errors
    std::printf("  %-28s -> %-11s %s\n", data.test[i].text.c_str(),
                target_text(greedy_out[i]).c_str(),
                right ? "" : ("wrong, expected " + data.test[i].iso).c_str());
    ++shown;
    wrong_shown += !right;
  }
  for (const std::string& date : options.dates) {
    if (date.empty())
      std::printf("  (an empty date: skipped)\n");
    else
      std::printf("  %-28s -> %s   (yours)\n", date.c_str(),
                  target_text(greedy(*model, date)).c_str());
  }

  std::printf("\nresults (%zu held-out dates; exact match of the whole ISO date)\n",
              data.test.size());
  std::printf("  %-8s %9s %12s %12s %10s %8s %8s\n", "", "updates", "train time", "median epoch",
              "dates/s", "greedy", "beam(4)");
  const double rnnx_median = ex::median(history.seconds);
  std::printf("  %-8s %9zu %10.2f s %10.3f s %10.0f %8s %8s\n", "rnnx", history.updates,
              rnnx_seconds, rnnx_median, double(data.train.size()) / rnnx_median,
              ex::percent(greedy_accuracy).c_str(), ex::percent(beam_accuracy).c_str());
  if (torch.is_null()) {
    std::printf("  %-8s %s\n", "PyTorch", torch_note.c_str());
  } else {
    const double seconds = torch["seconds"].get<double>();
    const double torch_median = ex::median(torch["epoch_seconds"].get<std::vector<double>>());
    std::printf("  %-8s %9zu %10.2f s %10.3f s %10.0f %8s %8s\n", "PyTorch",
                torch["updates"].get<std::size_t>(), seconds, torch_median,
                double(data.train.size()) / torch_median,
                ex::percent(torch["accuracy"].back().get<double>()).c_str(), "-");
    std::printf("  (torch %s, %d thread; its greedy decoding is batched, beam not implemented)\n",
                torch["version"].get<std::string>().c_str(), torch["threads"].get<int>());
    std::printf("  rnnx trained %.1fx faster than PyTorch in total, %.1fx by median epoch\n",
                seconds / rnnx_seconds, torch_median / rnnx_median);
  }
  std::printf("  decoding (rnnx, one date at a time): greedy %.0f us, beam(4) %.0f us per date\n",
              1e6 * greedy_seconds / n, 1e6 * beam_seconds / n);

  std::filesystem::remove(out / "translation_initial.json");
  // The trained model, for rnnx::load_weights into the same Translator type.
  rnnx::save_weights(*model, out / "translation_model.json");
  std::printf("  model saved to %s\n", (out / "translation_model.json").string().c_str());

  if (options.plot) {
    const nlohmann::json results = {
        {"maps", attention_maps(*model, data)},
        {"rnnx",
         {{"loss", history.loss}, {"accuracy", history.accuracy}, {"seconds", history.seconds}}},
        {"torch", torch}};
    std::ofstream(out / "translation.json") << results.dump(1) << '\n';
    const std::string command = ex::python_command(
        RNNX_TRANSLATION_DIR "/plot.py",
        {(out / "translation.json").string(), (out / "translation_attention.png").string()});
    if (ex::draw_plot(command, "\n"))
      std::printf("\nplot      %s\n", (out / "translation_attention.png").string().c_str());
  }

  if (!(greedy_accuracy >= options.min_accuracy))
    return ex::fail("\nFAIL: held-out greedy exact match %s is below %s\n",
                    ex::percent(greedy_accuracy).c_str(),
                    ex::percent(options.min_accuracy).c_str());
  std::printf("\nOK: held-out greedy exact match %s >= %s\n", ex::percent(greedy_accuracy).c_str(),
              ex::percent(options.min_accuracy).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return ex::guarded_main("translation_demo", [&] { return run(parse_arguments(argc, argv)); });
}
