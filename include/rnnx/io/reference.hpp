#pragma once
// rnnx::verify_reference: runs a model over the reference a weight file carries (its
// "reference" member, docs/weights-format.md: inputs and the outputs PyTorch computed for them,
// written by codegen/export_torch.py) and throws if the model's outputs are not those.
//
//   rnnx::load_weights(model, "model.json");
//   rnnx::verify_reference(model, "model.json");  // weights_error naming the worst step
//
// The model is const: it runs from the zero state on a state of its own, so neither its
// weights nor any stream's state change.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <xtensor/xtensor.hpp>

#include "rnnx/errors.hpp"
#include "rnnx/io/json_document.hpp"
#include "rnnx/io/reference_document.hpp"
#include "rnnx/io/weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/network.hpp"

namespace RNNX_NAMESPACE {

/// What verify_reference found: the step and output whose difference took the largest share
/// of its allowance (tolerance * max(1, |expected|)), and that share (<= 1 when it passed).
struct reference_report {
  std::size_t steps = 0;
  std::size_t worst_step = 0;
  std::size_t worst_output = 0;
  double expected = 0;
  double got = 0;
  double difference = 0;
  double tolerance = 0;
  double worst_ratio = 0;
};

namespace detail {

/// `number` in the shortest form that reads back as the same T.
template <class T = double>
std::string shortest_text(T number) {
  std::string text;
  append_number(text, number);
  return text;
}

/// Compares `got` (steps x out_size) with the reference's outputs: the report of the worst
/// output, and how many are out of tolerance in `failures`. A NaN output is worst of all.
template <class T>
reference_report compare_with_reference(const xt::xtensor<T, 2>& got, const reference_data& ref,
                                        std::size_t& failures) {
  reference_report report{ref.steps, 0, 0, 0, 0, 0, ref.tolerance, -1};
  failures = 0;
  for (std::size_t t = 0; t < ref.steps; ++t) {
    for (std::size_t j = 0; j < ref.out_size; ++j) {
      const double expected = ref.outputs[t * ref.out_size + j];
      const double value = static_cast<double>(got(t, j));
      const double difference = std::fabs(value - expected);
      const double allowed = ref.tolerance * std::max(1.0, std::fabs(expected));
      const double ratio =
          std::isnan(difference) ? std::numeric_limits<double>::infinity() : difference / allowed;
      if (!(difference <= allowed)) ++failures;
      if (ratio > report.worst_ratio)
        report = {ref.steps, t, j, expected, value, difference, ref.tolerance, ratio};
    }
  }
  return report;
}

/// verify_reference on a parsed document; `where` starts the messages.
template <class Net>
reference_report verify_reference_document(const Net& model, const nlohmann::json& document,
                                           const std::string& where) {
  using T = typename Net::scalar;
  read_header<T>(document, where);
  reference_data ref;
  if (!read_reference(document, where, Net::in_size, Net::out_size, ref))
    throw weights_error(concat({where,
                                ": the file has no 'reference' (export_torch.py writes "
                                "one unless given --no-reference)"}));
  xt::xtensor<T, 2> inputs = xt::xtensor<T, 2>::from_shape({ref.steps, Net::in_size});
  for (std::size_t t = 0; t < ref.steps; ++t) {
    for (std::size_t j = 0; j < Net::in_size; ++j) {
      const T x = static_cast<T>(ref.inputs[t * Net::in_size + j]);
      if (const std::string_view problem = input_problem<typename Net::template layer_type<0>>(x);
          !problem.empty())
        throw weights_error(concat({where, ": reference 'inputs'[", std::to_string(t), "][",
                                    std::to_string(j), "] = ", shortest_text(x),
                                    " cannot be an input of ", Net::description(), ": ", problem}));
      inputs(t, j) = x;
    }
  }
  std::size_t failures = 0;
  const reference_report report = compare_with_reference(model.forward(inputs), ref, failures);
  if (failures > 0)
    throw weights_error(
        concat({where,
                ": the model's output differs from the reference: worst at step ",
                std::to_string(report.worst_step),
                ", output ",
                std::to_string(report.worst_output),
                ": expected ",
                shortest_text(report.expected),
                ", got ",
                shortest_text(static_cast<T>(report.got)),
                ", difference ",
                shortest_text(report.difference),
                " > ",
                shortest_text(report.tolerance * std::max(1.0, std::fabs(report.expected))),
                " (tolerance ",
                shortest_text(report.tolerance),
                " x max(1, |expected|)); ",
                std::to_string(failures),
                " of ",
                std::to_string(ref.steps * ref.out_size),
                " outputs out of tolerance over ",
                std::to_string(ref.steps),
                " steps"}));
  return report;
}

}  // namespace detail

/// Runs `model` (from its zero state, on a state of its own; nothing in the model changes) over
/// the reference inputs in the weight file at `path` and compares its outputs with the
/// reference outputs: each must be within tolerance * max(1, |expected|). Returns what it
/// found; throws weights_error naming the file when an output is out of tolerance (the worst
/// step and output, expected, got, difference and tolerance), when the file has no reference
/// or a malformed one, or when the file cannot be read. The file's layers are not read: load
/// them with load_weights first (or verify a model filled some other way, e.g. a generated
/// header's, against the file it came from).
template <class Net>
reference_report verify_reference(const Net& model, const std::filesystem::path& path,
                                  load_options options = {}) {
  constexpr std::size_t budget = detail::weight_file_budget<Net>();
  return detail::verify_reference_document(
      model,
      detail::read_json_file<weights_error>(path, "rnnx::verify_reference",
                                            detail::file_limit(options, budget)),
      detail::concat({"rnnx::verify_reference(", path.string(), ")"}));
}

/// verify_reference for a weight document in JSON text.
template <class Net>
reference_report verify_reference_from_string(const Net& model, std::string_view text) {
  return detail::verify_reference_document(
      model, detail::parse_json_text<weights_error>(text, "rnnx::verify_reference"),
      "rnnx::verify_reference(JSON)");
}

}  // namespace RNNX_NAMESPACE
