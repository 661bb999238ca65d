#pragma once
// A model's layers, sizes, parameter counts and memory as a table, like Keras'
// model.summary(). Everything comes from the model type, through the layer concept:
//
//   network: lstm<3, 33> -> dense<33, 2, tanh> (float)
//   #  layer               output  parameters   bytes  storage
//   0  lstm<3, 33>             33       5,016  20,064   29,184
//   1  dense<33, 2, tanh>       2          68     272      448
//      total                            5,084  20,336   29,632
//   input 3, output 2; model object 29,632 bytes; state 448 bytes per stream
//
// "bytes" is the parameters' logical size (count x sizeof(scalar)); "storage" what they occupy
// once padded to whole SIMD registers, which depends on the instruction set compiled for (the
// numbers above are AVX-512's). rnnx-codegen prints the same table without "storage".

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"

namespace RNNX_NAMESPACE {

/// One row of summary<Net>().
struct layer_summary {
  std::size_t index = 0;
  std::string name;               // layer_name<L>(), e.g. "lstm<3, 33>"
  std::size_t output_size = 0;    // values per time step
  std::size_t parameters = 0;     // trainable values
  std::size_t bytes = 0;          // parameters * sizeof(scalar)
  std::size_t storage_bytes = 0;  // parameters as stored: padded to whole SIMD registers
};

/// The rows of summary<Net>(), one per layer.
template <class Net>
std::vector<layer_summary> layer_summaries() {
  const auto model = std::make_unique<const Net>();  // a model can be large: not on the stack
  std::vector<layer_summary> rows;
  model->for_each_layer([&](auto index, const auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    layer_summary row;
    row.index = index;
    row.name = layer_name<L>();
    row.output_size = L::out_size;
    layer.visit_parameters([&](std::string_view, const auto& p) {
      using P = std::remove_cvref_t<decltype(p)>;
      row.parameters += P::count;
      row.bytes += P::count * sizeof(typename P::scalar);
      row.storage_bytes += sizeof(p.data);
    });
    rows.push_back(std::move(row));
  });
  return rows;
}

namespace detail {

/// 1234567 -> "1,234,567"
inline std::string with_thousands(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace detail

/// The table shown above, one line per layer plus header, total and footer lines, each ending
/// in '\n'.
template <class Net>
std::string summary() {
  using T = typename Net::scalar;
  constexpr std::size_t columns = 6;
  using line = std::array<std::string, columns>;
  const std::vector<layer_summary> layers = layer_summaries<Net>();
  std::vector<line> table{{"#", "layer", "output", "parameters", "bytes", "storage"}};
  layer_summary total;
  for (const layer_summary& l : layers) {
    table.push_back({std::to_string(l.index), l.name, std::to_string(l.output_size),
                     detail::with_thousands(l.parameters), detail::with_thousands(l.bytes),
                     detail::with_thousands(l.storage_bytes)});
    total.parameters += l.parameters;
    total.bytes += l.bytes;
    total.storage_bytes += l.storage_bytes;
  }
  table.push_back({"", "total", "", detail::with_thousands(total.parameters),
                   detail::with_thousands(total.bytes),
                   detail::with_thousands(total.storage_bytes)});

  std::array<std::size_t, columns> width{};
  for (const line& row : table)
    for (std::size_t k = 0; k < columns; ++k) width[k] = std::max(width[k], row[k].size());
  std::string out = "network: " + Net::description() + " (" +
                    (std::is_same_v<T, float> ? "float" : "double") + ")\n";
  for (const line& row : table) {
    std::string text;
    for (std::size_t k = 0; k < columns; ++k) {
      if (k > 0) text += "  ";
      const std::string pad(width[k] - row[k].size(), ' ');
      text += k == 1 ? row[k] + pad : pad + row[k];  // names left, numbers right
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + '\n';
  }
  out += "input " + std::to_string(Net::in_size) + ", output " + std::to_string(Net::out_size) +
         "; model object " + detail::with_thousands(sizeof(Net)) + " bytes; state " +
         detail::with_thousands(sizeof(typename Net::state)) + " bytes per stream\n";
  return out;
}

/// summary<Net>() for the type of `model`.
template <class Net>
std::string summary(const Net&) {
  return summary<Net>();
}

}  // namespace rnnx
