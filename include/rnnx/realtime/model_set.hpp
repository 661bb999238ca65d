#pragma once
// model_set<Nets...>: several compiled model types, one of them chosen at run time by the
// weight file a program loads.
//
// In rnnx a model's architecture is its type, so a program that must accept, say, LSTM-8,
// LSTM-16 and GRU-12 files (an amp-modelling plug-in whose users train their own) compiles
// each of those types and lets the file decide which one runs:
//
//   using amp_models = rnnx::model_set<rnnx::network<rnnx::lstm<1, 8>, rnnx::dense<8, 1>>,
//                                      rnnx::network<rnnx::lstm<1, 16>, rnnx::dense<16, 1>>,
//                                      rnnx::network<rnnx::gru<1, 12>, rnnx::dense<12, 1>>>;
//   amp_models models;
//   models.load("user.json");   // not on the audio thread: parses, validates, allocates
//   models.process(in, out);    // on it: one dispatch per block, then the chosen type's code
//
// The choice costs one branch per call, not per sample: process() and visit() select the
// loaded type once and run its fully specialised loop over the whole block. A file whose
// architecture is not in the set is refused with a message naming it and every architecture
// the program supports.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "rnnx/io/architecture.hpp"
#include "rnnx/io/json_document.hpp"
#include "rnnx/io/weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/network.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

template <class>
struct is_basic_network : std::false_type {};
template <class T, class... Specs>
struct is_basic_network<basic_network<T, Specs...>> : std::true_type {};

/// What tells architectures apart: the scalar and the layer types after rebinding to it, so
/// two spellings of one network (lstm<1, 8> and lstm<1, 8, double> in a float network) are one.
template <class Net>
using architecture_key = std::pair<typename Net::scalar, typename Net::layer_types>;

template <class First, class... Rest>
constexpr bool all_distinct() {
  if constexpr (sizeof...(Rest) == 0) {
    return true;
  } else {
    return (!std::is_same_v<First, Rest> && ...) && all_distinct<Rest...>();
  }
}

}  // namespace detail

template <class... Nets>
class model_set {
  static_assert(sizeof...(Nets) > 0, "rnnx::model_set: list at least one model type");
  static_assert((detail::is_basic_network<Nets>::value && ...),
                "rnnx::model_set: every argument must be an rnnx::network<...> or "
                "rnnx::basic_network<T, ...>");
  static_assert(detail::all_distinct<detail::architecture_key<Nets>...>(),
                "rnnx::model_set: two of the model types are the same architecture (scalar and "
                "layers), so a weight file could not choose between them; list each once");

  /// A loaded model and the state of its one stream, in one heap block: models can be large
  /// (lstm<1, 256> holds 1 MB), and the set stays small whatever it can hold.
  template <class Net>
  struct slot {
    Net model;
    typename Net::state state{};
  };

 public:
  /// How many model types the set holds; active() returns this when none is loaded.
  static constexpr std::size_t size = sizeof...(Nets);
  static constexpr std::size_t none = size;

  template <std::size_t I>
  using model_type = std::tuple_element_t<I, std::tuple<Nets...>>;

  /// Whether every model maps one sample to one sample (audio): what process() needs.
  static constexpr bool single_channel =
      ((Nets::streaming && Nets::in_size == 1 && Nets::out_size == 1) && ...);

  /// Reads a weight file (docs/weights-format.md) into the model type whose architecture it
  /// describes: layer types, sizes and options, and scalar (a float32 file chooses a float
  /// model, or a double one when the set has no float one of that architecture; a float64
  /// file only a double one). Throws rnnx::weights_error if the file cannot be read, is not a
  /// weight document, describes an architecture not in the set (the message names it and
  /// every architecture supported) or holds invalid weights for it (as load_weights says).
  /// On error the set is unchanged. Parses and allocates: not for a real-time thread.
  /// A file larger than options.max_file_bytes (0: 1 GiB, or a few times the largest weight
  /// file of the set's types if more) is refused unread. The default is generous: a set reads
  /// files of architectures it may not hold, to name them.
  void load(const std::filesystem::path& path, load_options options = {}) {
    const std::size_t budget =
        std::max({std::size_t{1} << 30, detail::weight_file_budget<Nets>()...});
    load_from_json(detail::read_json_file<weights_error>(path, "rnnx::model_set::load",
                                                        detail::file_limit(options, budget)),
                   path.string());
  }

  /// As load(path), from JSON text.
  void load_from_string(std::string_view text) {
    load_from_json(detail::parse_json_text<weights_error>(text, "rnnx::model_set::load"));
  }

  /// As load(path), from a parsed document; `source` names it in messages.
  void load_from_json(const nlohmann::json& document, const std::string& source = "JSON") {
    const std::string where = "rnnx::model_set::load(" + source + ")";
    // Format, version, dtype and the layer list first: a document that is not a weight file
    // gets the loader's message, not "unsupported architecture".
    const bool file_is_float32 = detail::read_header<double>(document, where).second;
    const std::size_t chosen = choose(document, file_is_float32);
    if (chosen == none) {
      std::string supported;
      for (const std::string& architecture : architectures())
        supported += (supported.empty() ? "" : "; ") + architecture;
      throw weights_error(where + ": the file's architecture, " + document_architecture(document) +
                          ", is not one this program was built for; it supports " +
                          std::to_string(size) + ": " + supported);
    }
    kernels::unroll<size>([&](auto index) {
      if (index != chosen) return;
      using Net = model_type<index>;
      auto fresh = std::make_unique<slot<Net>>();
      load_weights_from_json(fresh->model, document, source);
      current_.template emplace<index + 1>(std::move(fresh));
    });
  }

  /// Whether a model is loaded.
  bool loaded() const noexcept { return current_.index() != 0; }

  /// The index in Nets... of the loaded model's type, or `none`.
  std::size_t active() const noexcept { return loaded() ? current_.index() - 1 : none; }

  /// Whether the loaded model is a Net.
  template <class Net>
  bool holds() const noexcept {
    return std::holds_alternative<std::unique_ptr<slot<Net>>>(current_);
  }

  /// The loaded model's architecture as architectures() names it, or "no model loaded".
  std::string description() const {
    return loaded() ? architectures()[active()] : std::string("no model loaded");
  }

  /// Every architecture the set can load, in the order of Nets...:
  /// "lstm<1, 8> -> dense<8, 1, identity> (float)".
  static std::vector<std::string> architectures() {
    return {(Nets::description() + " (" +
             (std::is_same_v<typename Nets::scalar, float> ? "float" : "double") + ")")...};
  }

  /// The loaded model's stream back to the zero state (as a new sequence starts).
  void reset() noexcept {
    visit([](const auto&, auto& state) { state.reset(); });
  }

  /// Runs min(in.size(), out.size()) samples through the loaded model, continuing its state,
  /// and returns how many it ran; with no model loaded it writes silence (zeros) and returns
  /// 0. `in` and `out` may be the same buffer. A model whose scalar differs from the
  /// buffers' converts each sample. No allocation, exception or lock: one dispatch on the
  /// loaded type, then that type's step loop.
  std::size_t process(std::span<const float> in,
                      std::span<float> out) noexcept requires single_channel {
    return run_block(in, out);
  }
  std::size_t process(std::span<const double> in,
                      std::span<double> out) noexcept requires single_channel {
    return run_block(in, out);
  }

  /// Calls f(model, state) with the loaded model as its own type (const Net&) and its stream
  /// state (Net::state&), so that a block loop of any shape runs as the concrete type's code;
  /// returns false without calling f if no model is loaded. Dispatches once per call and
  /// allocates nothing itself.
  template <class F>
  bool visit(F&& f) {
    return std::visit(
        [&](auto& held) {
          if constexpr (std::is_same_v<std::remove_cvref_t<decltype(held)>, std::monostate>) {
            return false;
          } else {
            f(std::as_const(held->model), held->state);
            return true;
          }
        },
        current_);
  }
  template <class F>
  bool visit(F&& f) const {
    return std::visit(
        [&](const auto& held) {
          if constexpr (std::is_same_v<std::remove_cvref_t<decltype(held)>, std::monostate>) {
            return false;
          } else {
            f(std::as_const(held->model), std::as_const(held->state));
            return true;
          }
        },
        current_);
  }

 private:
  /// The index of the type `document` is for, or none: the type whose scalar is the file's
  /// dtype first, then one that widens it exactly (a float32 file into a double model).
  static std::size_t choose(const nlohmann::json& document, bool file_is_float32) {
    std::size_t exact = none;
    std::size_t widening = none;
    kernels::unroll<size>([&](auto index) {
      using Net = model_type<index>;
      if (!describes_architecture<Net>(document)) return;
      const bool same_scalar = std::is_same_v<typename Net::scalar, float> == file_is_float32;
      (same_scalar ? exact : widening) = index;
    });
    return exact != none ? exact : widening;
  }

  template <class T>
  std::size_t run_block(std::span<const T> in, std::span<T> out) noexcept {
    const std::size_t n = std::min(in.size(), out.size());
    const bool ran = visit([&](const auto& model, auto& state) {
      using S = typename std::remove_cvref_t<decltype(model)>::scalar;
      for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<T>(model.step(static_cast<S>(in[i]), state)[0]);
    });
    if (!ran) std::fill_n(out.begin(), n, T(0));
    return ran ? n : 0;
  }

  std::variant<std::monostate, std::unique_ptr<slot<Nets>>...> current_;
};

}  // namespace rnnx
