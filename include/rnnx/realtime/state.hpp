#pragma once
// A network's whole recurrent state as named vectors and as one flat array of values (read,
// set, save, restore: realtime/state_values.hpp, which this includes), and state files: the
// state as validated JSON, like weights. See docs/realtime.md.
//
//   std::array<float, rnnx::state_size<Model>> saved;
//   rnnx::save_state(model, state, saved);                    // noexcept, no allocation
//   ...
//   if (rnnx::restore_state(model, state, saved) != rnnx::restore_status::ok) { ... }
//   rnnx::save_state_file(model, state, "warm.json");         // validated JSON, like weights
//
// The flat order is layer by layer, each layer's vectors in its state's visit order ("h", then
// "c"; a bidirectional layer's forward direction, then "h_reverse", "c_reverse"), each vector's
// values unpadded. The network state's `output` is not part of it: it is the last step's
// output, which restoring recomputes from the restored state (see restore_state).

#include <algorithm>
#include <array>
#include <boost/hana/at.hpp>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rnnx/errors.hpp"
#include "rnnx/io/json_document.hpp"
#include "rnnx/io/weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/realtime/state_values.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE {

// ---- state files ------------------------------------------------------------------------
// The JSON style of weight files (docs/realtime.md):
//   {"format": "rnnx.state", "version": 1, "dtype": "float32",
//    "layers": [{"type": "lstm", "input_size": 1, "hidden_size": 32,
//                "state": {"h": [...], "c": [...]}},
//               {"type": "dense", "in_features": 32, "out_features": 1,
//                "activation": "identity", "state": {}}]}

inline constexpr std::string_view state_format_name = "rnnx.state";
inline constexpr int state_format_version = 1;

/// The state as JSON text; every value reads back bit-identically. Throws state_error if a
/// value is NaN or infinite (JSON has no such numbers).
template <class Net>
std::string state_to_string(const Net& model, const typename Net::state& s) {
  using T = typename Net::scalar;
  std::string out = detail::document_start<T>(state_format_name, state_format_version);
  visit_state(model, s, [&](std::string_view name, auto values) {
    for (std::size_t j = 0; j < values.size(); ++j)
      if (!std::isfinite(values[j]))
        throw state_error("rnnx::save_state: " + std::string(name) + "[" + std::to_string(j) +
                          "] is not finite (" + std::to_string(values[j]) + ")");
  });
  detail::for_each_layer_state<Net>(s, [&](auto i, const auto& layer_state) {
    out += i == 0 ? "\n    {" : ",\n    {";
    detail::append_layer_fields<typename Net::template layer_type<i>>(out);
    out += ",\n     \"state\": {";
    bool first = true;
    layer_state.visit([&](std::string_view name, auto values) {
      out += first ? "\n      \"" : ",\n      \"";
      first = false;
      out += name;
      out += "\": [";
      for (std::size_t j = 0; j < values.size(); ++j) {
        if (j > 0) out += ", ";
        detail::append_number(out, values[j]);
      }
      out += "]";
    });
    out += first ? "}}" : "\n     }}";
  });
  out += "\n  ]\n}\n";
  return out;
}

namespace detail {

/// A layer's state as a state file must hold it: the layer's signature, its vectors in visit
/// order (value_shape with cols == 0).
struct layer_state_vectors {
  layer_signature signature;
  std::vector<value_shape> vectors;
};

/// Every value of a state document for a model of scalar T whose layers' states are
/// `layers` (the model's description `model_description`), validated, in the flat order.
/// Throws state_error (the checks shared with weight files throw weights_error: rethrown).
template <class T>
std::vector<T> read_state_document(const nlohmann::json& document, const std::string& where,
                                   const std::vector<layer_state_vectors>& layers,
                                   const std::string& model_description) {
  std::vector<T> values;
  try {
    const auto [list, file_is_float32] =
        read_network_header(document, where, std::is_same_v<T, float>, layers.size(),
                            model_description, state_format_name, state_format_version);
    const auto& file_layers = list->template get_ref<const nlohmann::json::array_t&>();
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const nlohmann::json& j = file_layers[i];
      const std::string at = layer_where(where, i, layers[i].signature);
      check_layer_fields(j, at, layers[i].signature, {"state"});
      const nlohmann::json* const vectors = find_member(j, "state");
      if (vectors == nullptr) throw_weights_error({at, ": field 'state' is missing"});
      if (!vectors->is_object())
        throw_weights_error({at, ": 'state' must be an object, found ", json_kind(*vectors)});
      for (const value_shape& expected : layers[i].vectors) {
        const std::string what = concat({at, ": state '", expected.name, "'"});
        const nlohmann::json* const v = find_member(*vectors, expected.name);
        if (v == nullptr) throw_weights_error({what, " is missing"});
        if (!v->is_array() || v->size() != expected.rows)
          throw_weights_error({what, " must be a list of ",
                               count_text(expected.rows, "number", "numbers"), ", found ",
                               found_text(*v)});
        read_value_list(*v, expected.rows, what, file_is_float32, values);
      }
      check_known_names(*vectors, layers[i].vectors, at, "state", layers[i].signature);
    }
  } catch (const weights_error& e) {  // the shared checks of io/weights.hpp
    throw state_error(e.what());
  }
  return values;
}

}  // namespace detail

/// Sets the state from `document` (parsed JSON in the format above), its output as
/// restore_state does. Throws state_error naming the layer and the vector on any mismatch:
/// wrong format, dtype, number of layers, layer type or sizes, a missing or unknown vector, a
/// vector of the wrong length, a value that is not a finite number. On error the state is
/// unchanged.
template <class Net>
void load_state_from_json(const Net& model, typename Net::state& s, const nlohmann::json& document,
                          const std::string& source = "JSON") {
  using T = typename Net::scalar;
  const std::string where = "rnnx::load_state(" + source + ")";
  std::vector<detail::layer_state_vectors> layers;
  layers.reserve(Net::layer_count);
  detail::for_each_layer_state<Net>(s, [&](auto i, const auto& layer_state) {
    layers.push_back({detail::layer_signature_of<typename Net::template layer_type<i>>(), {}});
    layer_state.visit([&](std::string_view name, auto values) {
      layers.back().vectors.push_back({std::string(name), values.size(), 0});
    });
  });
  const std::vector<T> values =
      detail::read_state_document<T>(document, where, layers, Net::description());
  const auto status = restore_state(model, s, std::span<const T, state_size<Net>>(values));
  if (status != restore_status::ok)  // unreachable: every value was checked above
    throw state_error(where + ": a value is not finite");
}

/// Reads a state file written by save_state_file (or by hand, in the format above).
template <class Net>
void load_state_file(const Net& model, typename Net::state& s, const std::filesystem::path& path,
                     load_options options = {}) {
  // A few times the longest state file of Net (see detail::weight_file_budget).
  constexpr std::size_t budget = 4 * (32 * state_size<Net> + 1024 * Net::layer_count) + 65536;
  load_state_from_json(model, s,
                       detail::read_json_file<state_error>(path, "rnnx::load_state",
                                                           detail::file_limit(options, budget)),
                       path.string());
}

/// Reads a state from JSON text.
template <class Net>
void load_state_from_string(const Net& model, typename Net::state& s, std::string_view text) {
  load_state_from_json(model, s, detail::parse_json_text<state_error>(text, "rnnx::load_state"));
}

/// Writes the state to a file, replacing it only once the whole new file is on disk; throws
/// state_error, and leaves any previous file as it was, if a value is not finite or the file
/// cannot be written.
template <class Net>
void save_state_file(const Net& model, const typename Net::state& s,
                     const std::filesystem::path& path) {
  detail::write_document<state_error>(path, state_to_string(model, s), "rnnx::save_state");
}

}  // namespace RNNX_NAMESPACE
