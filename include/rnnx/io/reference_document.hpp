#pragma once
// The optional "reference" member of a weight document (docs/weights-format.md): a short input
// sequence and the outputs PyTorch computed for it, so that a model carries its own test.
// Every reader validates it with the functions here (the loaders refuse a malformed one, with a
// message naming the step and the value); rnnx/io/reference.hpp runs a model over it.
//
// Plain functions, not templates: every model type shares them.

#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rnnx/errors.hpp"
#include "rnnx/io/json_document.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

/// A weight document's reference: `steps` input vectors run from the zero state and the
/// outputs expected for them, each row-major (steps x in_size, steps x out_size).
/// A computed output y passes when |y - expected| <= tolerance * max(1, |expected|).
struct reference_data {
  std::size_t steps = 0;
  std::size_t in_size = 0;
  std::size_t out_size = 0;
  std::vector<double> inputs;
  std::vector<double> outputs;
  double tolerance = 0;
};

namespace detail {

/// The most time steps a reference may hold: it is a quick check, not a data set.
inline constexpr std::size_t max_reference_steps = 100000;
/// The most values (inputs and outputs together) a reference may hold.
inline constexpr std::size_t max_reference_values = std::size_t(1) << 22;

/// Appends the `steps` x `width` values of reference field `name` (`list`) to `out`; `where`
/// starts the messages ("rnnx::load_weights(model.json)").
inline void read_reference_rows(const nlohmann::json& list, std::string_view name,
                                std::size_t steps, std::size_t width, const std::string& where,
                                std::vector<double>& out) {
  const std::string what = concat({where, ": reference '", name, "'"});
  if (!list.is_array() || list.size() != steps)
    throw weights_error(concat({what, " must be a list of ", std::to_string(steps),
                                " steps (as many as 'inputs'), found ", found_text(list)}));
  out.reserve(steps * width);
  for (std::size_t t = 0; t < steps; ++t) {
    const nlohmann::json& row = list[t];
    if (!row.is_array() || row.size() != width)
      throw weights_error(
          concat({what, " step ", std::to_string(t), " must hold ", std::to_string(width),
                  " numbers (the model's ", name == "inputs" ? "input" : "output", " size), found ",
                  found_text(row)}));
    for (std::size_t j = 0; j < width; ++j) {
      const nlohmann::json& v = row[j];
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        throw weights_error(
            concat({what, "[", std::to_string(t), "][", std::to_string(j), "] is ",
                    v.is_number() ? json_text(v) : json_kind(v), ", not a finite number"}));
      out.push_back(v.get<double>());
    }
  }
}

/// Whether `document` (a weight document whose header is already checked) has a "reference";
/// if so it is validated against a model of in_size inputs and out_size outputs and stored in
/// `out`. Throws weights_error, starting with `where`, for a malformed one.
inline bool read_reference(const nlohmann::json& document, const std::string& where,
                           std::size_t in_size, std::size_t out_size, reference_data& out) {
  const nlohmann::json* const reference = find_member(document, "reference");
  if (reference == nullptr) return false;
  if (!reference->is_object())
    throw weights_error(
        concat({where, ": 'reference' must be an object, found ", json_kind(*reference)}));
  for (const auto& member : reference->get_ref<const nlohmann::json::object_t&>())
    if (member.first != "inputs" && member.first != "outputs" && member.first != "tolerance")
      throw weights_error(concat({where, ": reference: unknown field '", brief(member.first),
                                  "' (it holds inputs, outputs and tolerance)"}));
  const nlohmann::json* const inputs = find_member(*reference, "inputs");
  const nlohmann::json* const outputs = find_member(*reference, "outputs");
  const nlohmann::json* const tolerance = find_member(*reference, "tolerance");
  for (const auto& [field, name] : {std::pair{inputs, "inputs"}, std::pair{outputs, "outputs"},
                                    std::pair{tolerance, "tolerance"}})
    if (field == nullptr)
      throw weights_error(concat({where, ": reference: field '", name, "' is missing"}));
  if (!tolerance->is_number() || !(tolerance->get<double>() > 0) ||
      !std::isfinite(tolerance->get<double>()))
    throw weights_error(concat({where, ": reference 'tolerance' is ", json_text(*tolerance),
                                "; it must be a positive finite number"}));
  if (!inputs->is_array() || inputs->empty())
    throw weights_error(concat({where, ": reference 'inputs' must be a non-empty list of steps, ",
                                "found ", json_text(*inputs)}));
  const std::size_t steps = inputs->size();
  if (steps > max_reference_steps || steps * (in_size + out_size) > max_reference_values)
    throw weights_error(
        concat({where, ": reference holds ", std::to_string(steps),
                " steps; a reference holds at most ", std::to_string(max_reference_steps),
                " steps and ", std::to_string(max_reference_values), " values"}));
  reference_data data{steps, in_size, out_size, {}, {}, tolerance->get<double>()};
  read_reference_rows(*inputs, "inputs", steps, in_size, where, data.inputs);
  read_reference_rows(*outputs, "outputs", steps, out_size, where, data.outputs);
  out = std::move(data);
  return true;
}

/// Validates a document's reference, if it has one (what the loaders call).
inline void check_reference(const nlohmann::json& document, const std::string& where,
                            std::size_t in_size, std::size_t out_size) {
  reference_data unused;
  read_reference(document, where, in_size, out_size, unused);
}

}  // namespace detail
}  // namespace RNNX_NAMESPACE
