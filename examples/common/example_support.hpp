// Support code the examples share, so that each NAME_demo.cpp reads as its example: command-line
// walking, the PyTorch and matplotlib steps (Debian's /usr/bin/python3 running a committed
// script), timing, table helpers and main()'s error handling. Every message a demo prints is
// still spelled out in the demo; these helpers only do the plumbing around it.

#ifndef RNNX_EXAMPLES_COMMON_EXAMPLE_SUPPORT_HPP
#define RNNX_EXAMPLES_COMMON_EXAMPLE_SUPPORT_HPP

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rnnx_example {

// ---- command line ---------------------------------------------------------------------------

// Walks argv one argument at a time; a flag that takes a value reads it with value(). Each demo
// keeps its own flags, defaults, range checks and wording, this only does the index keeping.
class Arguments {
 public:
  Arguments(int argc, char** argv) : argc_(argc), argv_(argv) {}

  bool next() { return ++i_ < argc_; }  // to the next argument; false after the last
  std::string_view current() const { return argv_[i_]; }
  bool is_help() const { return current() == "-h" || current() == "--help"; }

  // The argument after the current one, consumed; nullptr if there is none, so that the
  // number parsers below report a missing value as they report a bad one.
  const char* value() { return i_ + 1 < argc_ ? argv_[++i_] : nullptr; }

  // The same, for flags whose missing value is an error of its own: "--out needs a value".
  const char* required_value(std::string_view hint = "") {
    if (i_ + 1 >= argc_)
      throw std::invalid_argument(std::string(current()) + " needs a value" + std::string(hint));
    return argv_[++i_];
  }

  // "usage: PROGRAM SYNOPSIS" on stdout, then exit 0 (what --help does).
  [[noreturn]] void usage(const char* synopsis) const {
    std::printf("usage: %s %s\n", argv_[0], synopsis);
    std::exit(0);
  }

  // The error for an argument no flag took, e.g. "unknown option '--epoch' (try --help)".
  std::invalid_argument unexpected(std::string_view what = "unexpected argument",
                                   std::string_view hint = "(see --help)") const {
    return std::invalid_argument(std::string(what) + " '" + std::string(current()) + "' " +
                                 std::string(hint));
  }

 private:
  int argc_, i_ = 0;
  char** argv_;
};

// FLAG's value as a whole number > 0; a missing value (nullptr) gets the same message.
inline std::size_t parse_count(std::string_view flag, const char* text) {
  char* end = nullptr;
  const long long value = text ? std::strtoll(text, &end, 10) : 0;
  if (text == nullptr || *end != '\0' || value <= 0)
    throw std::invalid_argument(std::string(flag) + " needs a positive whole number");
  return static_cast<std::size_t>(value);
}

// FLAG's value as a number that `valid` accepts, else "FLAG needs WHAT" (e.g. "a positive
// number"); a missing value (nullptr) gets the same message.
template <class Valid>
double parse_number(std::string_view flag, const char* text, Valid valid, std::string_view what) {
  char* end = nullptr;
  const double value = text ? std::strtod(text, &end) : 0;
  if (text == nullptr || *end != '\0' || !valid(value))
    throw std::invalid_argument(std::string(flag) + " needs " + std::string(what));
  return value;
}

// ---- Python: PyTorch comparisons and matplotlib plots --------------------------------------

// Debian's interpreter: where python3-torch and python3-matplotlib install.
inline constexpr const char* kPython = "/usr/bin/python3";

// One shell word, whatever the text holds: 'it'\''s'.
inline std::string shell_quote(std::string_view text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// "/usr/bin/python3 SCRIPT 'ARG' ..." to run a committed script: SCRIPT as given (the demos
// print these commands, some with the script quoted, some not), each argument quoted. Appended
// piece by piece: g++ 12 warns falsely (-Wrestrict) about chains of + on strings.
inline std::string python_command(std::string_view script,
                                  std::initializer_list<std::string> args) {
  std::string command = kPython;
  command += ' ';
  command += script;
  for (const std::string& arg : args) {
    command += ' ';
    command += shell_quote(arg);
  }
  return command;
}

// Runs a shell command after flushing stdout, so that what the demo printed comes before what
// the child prints when both go to one pipe or file; true if it exited 0.
inline bool run_command(const std::string& command) {
  std::fflush(stdout);
  return std::system(command.c_str()) == 0;
}

// Whether kPython can import `module` (torch, matplotlib): the optional steps are skipped, not
// failed, on a machine without them.
inline bool python_has(const char* module) {
  return run_command(std::string(kPython) + " -c 'import " + module + "' >/dev/null 2>&1");
}

// Why the PyTorch comparison does not run, or "" if it can: `off_note` when --no-torch asked
// for that, otherwise "skipped: PyTorch not installed" when torch cannot be imported.
inline std::string torch_skip_note(bool wanted, std::string_view off_note = "skipped: --no-torch") {
  if (!wanted) return std::string(off_note);
  if (!python_has("torch")) return "skipped: PyTorch not installed";
  return {};
}

// Runs a train_torch.py command and echoes its progress lines indented by two spaces as they
// come; returns its result, the last line that starts with '{' (JSON), or "" if the script
// failed or printed none.
inline std::string run_echoing_result(const std::string& command) {
  std::fflush(stdout);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string line, last;
  for (int c; (c = std::fgetc(pipe)) != EOF;) {
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    if (line.starts_with("{"))
      last = line;
    else
      std::printf("  %s\n", line.c_str()), std::fflush(stdout);
    line.clear();
  }
  return pclose(pipe) == 0 ? last : std::string();
}

// Runs a plot command if matplotlib is there; true if it drew the plot, otherwise after saying
// why not (`before` goes ahead of that line, e.g. "\n"). The caller reports success its way.
inline bool draw_plot(const std::string& command, const char* before = "") {
  if (!python_has("matplotlib")) {
    std::printf(
        "%splot skipped: matplotlib not installed (apt-get install python3-matplotlib, then: "
        "%s)\n",
        before, command.c_str());
    return false;
  }
  if (run_command(command)) return true;
  std::printf("%splot failed: %s\n", before, command.c_str());
  return false;
}

// ---- timing, tables and verdicts ------------------------------------------------------------

using Clock = std::chrono::steady_clock;

// Seconds since construction on the steady clock (the wall clock may jump).
class Stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  Clock::time_point start_ = Clock::now();
};

// Medians rather than totals or means: on a shared machine one slow epoch skews those.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// 0.953 -> "95.3%", for table cells and verdicts.
inline std::string percent(double x) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * x);
  return text;
}

// Prints a FAIL line to stderr after flushing what stdout holds (so the verdict comes last when
// both go to one terminal) and returns 1, the exit status of a demo whose check failed.
[[gnu::format(printf, 1, 2)]] inline int fail(const char* format, ...) {
  std::fflush(stdout);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  return 1;
}

// main() of every demo: runs it and turns an exception (a bad flag, a missing file) into
// "PROGRAM: message" on stderr and exit status 2; 0 and 1 are the demo's own verdicts.
template <class Run>
int guarded_main(const char* program, Run&& run) {
  try {
    return std::forward<Run>(run)();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", program, e.what());
  }
  return 2;
}

// ---- data -----------------------------------------------------------------------------------

// Fisher-Yates on the engine's raw output: the same order with every standard library.
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

// Training on a tape takes equal-length sequences in a batch: each group of same-length items
// (by length, ascending) is shuffled and cut into batches of up to `batch_size`, then the batches
// of all lengths are shuffled together.
template <class T>
std::vector<std::vector<T>> same_length_batches(std::map<std::size_t, std::vector<T>> by_length,
                                                std::size_t batch_size, std::mt19937_64& rng) {
  std::vector<std::vector<T>> batches;
  for (auto& [length, group] : by_length) {
    shuffle(group, rng);
    for (std::size_t i = 0; i < group.size(); i += batch_size)
      batches.emplace_back(
          group.begin() + static_cast<std::ptrdiff_t>(i),
          group.begin() + static_cast<std::ptrdiff_t>(std::min(i + batch_size, group.size())));
  }
  shuffle(batches, rng);
  return batches;
}

}  // namespace rnnx_example

#endif  // RNNX_EXAMPLES_COMMON_EXAMPLE_SUPPORT_HPP
