#pragma once
// What the training demo and the generated-header program share: the alphabet, the model type
// and the sampler. Both must agree on these to the bit for their samples to be identical.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <rnnx/rnnx.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace charlm {

// Every ASCII character of the book; the last symbol stands for anything else (a handful of
// accented letters), so that the model's size does not depend on the text it reads.
inline constexpr std::string_view alphabet =
    "\n !\"&'(),-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#";
inline constexpr std::size_t vocabulary = alphabet.size();
inline constexpr std::size_t other = vocabulary - 1;
inline constexpr std::size_t hidden = 128;

using Model = rnnx::network<rnnx::lstm<vocabulary, hidden>, rnnx::dense<hidden, vocabulary>>;

constexpr std::size_t encode(char c) noexcept {
  const std::size_t i = alphabet.find(c);
  return i == std::string_view::npos ? other : i;
}

// A uniform number in (0, 1) from exactly 32 bits of mt19937, whose output the standard fixes:
// std::uniform_real_distribution's algorithm is up to the library, and a sample must not change
// with it.
inline double uniform(std::mt19937& engine) { return (double(engine()) + 0.5) / 4294967296.0; }

// Feeds `prompt` and then continues it by `length` characters drawn from the model's softmax
// at `temperature` (below 1: more conservative, above 1: more adventurous).
template <class Net>
std::string sample(const Net& model, std::string_view prompt, std::size_t length,
                   double temperature, std::uint32_t seed) {
  static_assert(Net::in_size == vocabulary && Net::out_size == vocabulary);
  if (prompt.empty()) throw std::invalid_argument("the prompt must not be empty");
  if (!(temperature > 0)) throw std::invalid_argument("the temperature must be > 0");
  std::mt19937 engine(seed);
  auto state = model.initial_state();
  std::array<float, vocabulary> x{};
  const float* logits = nullptr;  // the model's output, valid until the next step
  const auto feed = [&](std::size_t symbol) {
    x.fill(0);
    x[symbol] = 1;
    logits = model.step(x, state).data();
  };
  for (const char c : prompt) feed(encode(c));
  std::string text(prompt);
  std::array<double, vocabulary> weight{};
  for (std::size_t n = 0; n < length; ++n) {
    const float top = *std::max_element(logits, logits + vocabulary);
    double total = 0;
    for (std::size_t j = 0; j < vocabulary; ++j)
      total += weight[j] = std::exp((double(logits[j]) - top) / temperature);
    const double target = uniform(engine) * total;
    std::size_t pick = 0;
    for (double sum = weight[0]; sum < target && pick + 1 < vocabulary;) sum += weight[++pick];
    text += alphabet[pick];
    feed(pick);
  }
  return text;
}

}  // namespace charlm
