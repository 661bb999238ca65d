#pragma once
// The JSON side of load_weights (io/load_weights.hpp): a weight document checked against a
// model's io::weight_request, its values in the model's order. Every function here depends on
// the scalar type only, never on a model type. Header-only, io/weights.hpp brings it into the
// translation units that load; the library rnnx::io compiles it once
// (RNNX_IO_DEFINE_COMPILED_READER below) and its users include none of it.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "rnnx/errors.hpp"
#include "rnnx/io/json_document.hpp"
#include "rnnx/io/load_weights.hpp"
#include "rnnx/io/reference_document.hpp"
#include "rnnx/io/weights.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {
namespace detail {

/// The values of `document` for `request`, validated, "reference" included.
template <class T>
std::vector<T> parse_weight_document(const nlohmann::json& document,
                                     const io::weight_request& request) {
  const std::string where = concat({"rnnx::load_weights(", request.source, ")"});
  std::vector<T> values =
      read_weight_document<T>(document, where, request.layers, request.model_description);
  if (request.has_io_sizes) {
    check_reference(document, where, request.in_size, request.out_size);
  } else if (document.is_object() && document.contains("reference")) {
    // A model of two sequences (encoder_decoder) has no one input and output size to check.
    throw_weights_error({where, ": 'reference' is not supported for ", request.model_description,
                         " (it holds one sequence of inputs and one of outputs)"});
  }
  return values;
}

template <class T>
std::vector<T> parse_weight_file(const std::filesystem::path& path,
                                 const io::weight_request& request) {
  return parse_weight_document<T>(
      read_json_file<weights_error>(
          path, "rnnx::load_weights",
          request.max_file_bytes != 0 ? request.max_file_bytes : request.budget,
          concat({"; a weight file of ", request.model_description, " holds at most about ",
                  std::to_string(request.budget / 4), " bytes: is it another model's?"})),
      request);
}

template <class T>
std::vector<T> parse_weight_text(std::string_view text, const io::weight_request& request) {
  return parse_weight_document<T>(parse_json_text<weights_error>(text, "rnnx::load_weights"),
                                  request);
}

}  // namespace detail

/// Replaces the model's parameters with those in `document` (already parsed JSON).
/// Throws weights_error; on error the model is unchanged: the whole document (with its
/// "reference", if any: rnnx/io/reference.hpp) is validated before the first value is written.
template <class Net>
void load_weights_from_json(Net& model, const nlohmann::json& document,
                            const std::string& source = "JSON") {
  detail::assign_weights(model, detail::parse_weight_document<typename Net::scalar>(
                                    document, detail::weight_request_of(model, source)));
}

}  // namespace RNNX_NAMESPACE

#if defined(RNNX_IO_DEFINE_COMPILED_READER)
// The one translation unit of the library rnnx::io.
namespace rnnx::io {
void read_weight_file(const std::filesystem::path& path, const weight_request& request,
                      std::vector<float>& values) {
  values = rnnx::detail::parse_weight_file<float>(path, request);
}
void read_weight_file(const std::filesystem::path& path, const weight_request& request,
                      std::vector<double>& values) {
  values = rnnx::detail::parse_weight_file<double>(path, request);
}
void read_weight_text(std::string_view text, const weight_request& request,
                      std::vector<float>& values) {
  values = rnnx::detail::parse_weight_text<float>(text, request);
}
void read_weight_text(std::string_view text, const weight_request& request,
                      std::vector<double>& values) {
  values = rnnx::detail::parse_weight_text<double>(text, request);
}
}  // namespace rnnx::io
#endif
