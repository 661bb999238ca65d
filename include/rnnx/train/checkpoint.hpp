#pragma once
// A training run's checkpoint: everything rnnx::fit needs to go on as if it had never stopped
// (fit_options::checkpoint and ::resume). One JSON file, replaced atomically, so a run killed
// while writing keeps the previous checkpoint:
//   {"format": "rnnx.checkpoint", "version": 1, "dtype": "float32",
//    "model": "<network description>", "epoch": <epochs done>,
//    "run": {"sequences": .., "batch_size": .., "shard_size": .., "truncation": ..,
//            "shuffle": .., "seed": ..},
//    "order": [the data order the next shuffle starts from], "shuffler": "<its engine>",
//    "random_streams": [[per layer, the shard's dropout stream or ""], ... per shard],
//    "weights": {a weight file, docs/weights-format.md},
//    "optimizer": {"name": "adam", "step": <updates>, "exp_avg": {a weight file}, ...}}
// The run's settings are checked on resume: another data size, batch partition or seed could
// not continue the same run, and is refused rather than silently giving other numbers.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rnnx/errors.hpp"
#include "rnnx/io/files.hpp"
#include "rnnx/io/json_document.hpp"
#include "rnnx/io/weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/train/tape.hpp"

namespace RNNX_NAMESPACE {

inline constexpr std::string_view checkpoint_format_name = "rnnx.checkpoint";
inline constexpr int checkpoint_format_version = 1;

namespace detail {

inline bool is_string(const nlohmann::json& v) { return v.is_string(); }
inline bool is_object(const nlohmann::json& v) { return v.is_object(); }
inline bool is_array(const nlohmann::json& v) { return v.is_array(); }
inline bool is_count(const nlohmann::json& v) { return v.is_number_unsigned(); }
inline bool is_boolean(const nlohmann::json& v) { return v.is_boolean(); }

/// What makes two runs the same run: a checkpoint of one resumes only the other.
struct checkpoint_run {
  std::size_t sequences = 0, batch_size = 0, shard_size = 0, truncation = 0;
  bool shuffle = true;
  std::uint64_t seed = 0;
};

/// Where a run stands between two epochs.
struct checkpoint_progress {
  std::size_t epoch = 0;  ///< epochs done
  std::vector<std::size_t> order;
  std::mt19937_64 shuffler;
  std::vector<std::vector<std::string>> random_streams;  ///< per shard, per layer
};

inline void append_json_string_list(std::string& out, const std::vector<std::string>& texts) {
  out += '[';
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (i) out += ", ";
    append_json_string(out, texts[i]);
  }
  out += ']';
}

template <class Net, class Optimizer>
std::string checkpoint_text(const Net& model, Optimizer& optimizer, const checkpoint_run& run,
                            const checkpoint_progress& progress) {
  std::string out =
      concat({"{\"format\": \"", checkpoint_format_name,
              "\", \"version\": ", std::to_string(checkpoint_format_version), ", \"dtype\": \"",
              dtype_name<typename Net::scalar>(), "\",\n \"model\": "});
  append_json_string(out, Net::description());
  out += concat({",\n \"epoch\": ", std::to_string(progress.epoch),
                 ",\n \"run\": {\"sequences\": ", std::to_string(run.sequences),
                 ", \"batch_size\": ", std::to_string(run.batch_size),
                 ", \"shard_size\": ", std::to_string(run.shard_size), ", \"truncation\": ",
                 std::to_string(run.truncation), ", \"shuffle\": ", run.shuffle ? "true" : "false",
                 ", \"seed\": ", std::to_string(run.seed), "},\n \"order\": ["});
  for (std::size_t i = 0; i < progress.order.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(progress.order[i]);
  }
  std::ostringstream shuffler;
  shuffler << progress.shuffler;
  out += "],\n \"shuffler\": ";
  append_json_string(out, shuffler.str());
  out += ",\n \"random_streams\": [";
  for (std::size_t s = 0; s < progress.random_streams.size(); ++s) {
    if (s) out += ", ";
    append_json_string_list(out, progress.random_streams[s]);
  }
  out += "],\n \"weights\": " + weights_to_string(model);
  out += ",\n \"optimizer\": {\"name\": ";
  append_json_string(out, std::string(Optimizer::name));
  optimizer.visit_state([&](std::string_view name, auto& state) {
    if constexpr (std::is_integral_v<std::remove_cvref_t<decltype(state)>>) {
      out += concat({", \"", name, "\": ", std::to_string(state)});
    } else if (state) {
      out += concat({",\n  \"", name, "\": "});
      out += weights_to_string(*state);
    }
  });
  out += "}}\n";
  return out;
}

/// Writes the checkpoint to `path`, replacing the previous one only once the new one is
/// complete.
template <class Net, class Optimizer>
void write_checkpoint(const std::filesystem::path& path, const Net& model, Optimizer& optimizer,
                      const checkpoint_run& run, const checkpoint_progress& progress) {
  std::string text;
  try {
    text = checkpoint_text(model, optimizer, run, progress);
  } catch (const weights_error& e) {
    throw checkpoint_error(
        concat({"rnnx::fit: checkpoint '", path.string(), "' not written: ", e.what()}));
  }
  if (const std::string error = replace_file(path, text); !error.empty())
    throw checkpoint_error(concat({"rnnx::fit: cannot write checkpoint '", path.string(),
                                   "': ", error, " (the previous checkpoint, if any, is kept)"}));
}

/// The member `key` of `object`, which must be of the kind `is` accepts; else a
/// checkpoint_error "<where>: '<key>' ... ".
inline const nlohmann::json& checkpoint_member(const nlohmann::json& object, const std::string& key,
                                               const std::string& where,
                                               bool (*is)(const nlohmann::json&),
                                               std::string_view kind) {
  const nlohmann::json* v = find_member(object, key);
  if (v == nullptr) throw checkpoint_error(concat({where, ": no '", key, "'"}));
  if (!is(*v))
    throw checkpoint_error(
        concat({where, ": '", key, "' must be ", kind, ", found ", found_text(*v)}));
  return *v;
}

inline std::size_t checkpoint_count(const nlohmann::json& object, const std::string& key,
                                    const std::string& where) {
  return checkpoint_member(object, key, where, is_count, "a count (an integer >= 0)")
      .get<std::size_t>();
}

/// Reads the checkpoint at `path` for a run of `model` with `optimizer` and settings `run`;
/// only once all of it has been checked are model, optimizer and progress replaced.
template <class Net, class Optimizer>
void read_checkpoint(const std::filesystem::path& path, Net& model, Optimizer& optimizer,
                     const checkpoint_run& run, checkpoint_progress& progress) {
  const std::string where = concat({"rnnx::fit: checkpoint '", path.string(), "'"});
  const nlohmann::json document = read_json_file<checkpoint_error>(path, "rnnx::fit");
  if (!document.is_object())
    throw checkpoint_error(
        concat({where, ": not a checkpoint (found ", found_text(document), ")"}));
  if (!is_string_equal(checkpoint_member(document, "format", where, is_string, "a string"),
                       checkpoint_format_name))
    throw checkpoint_error(concat({where, ": 'format' is ", json_text(document["format"]),
                                   ", not \"", checkpoint_format_name, "\""}));
  if (!is_number_equal(document.value("version", nlohmann::json()), checkpoint_format_version))
    throw checkpoint_error(
        concat({where, ": version ", json_text(document.value("version", nlohmann::json())),
                " is not one this rnnx reads (", std::to_string(checkpoint_format_version), ")"}));
  const auto& description = checkpoint_member(document, "model", where, is_string, "a string");
  if (description.get<std::string>() != Net::description())
    throw checkpoint_error(concat({where, " is of ", brief(description.get<std::string>()),
                                   ", not of the model being trained, ", Net::description()}));

  const auto& settings = checkpoint_member(document, "run", where, is_object, "an object");
  const std::string run_where = where + " run";
  const auto same = [&](const char* key, auto now, auto then) {
    if (now != then)
      throw checkpoint_error(
          concat({where, " is of a run with ", key, " = ", std::to_string(then), ", this one has ",
                  std::to_string(now), ": resuming would not continue the same run"}));
  };
  same("sequences", run.sequences, checkpoint_count(settings, "sequences", run_where));
  same("batch_size", run.batch_size, checkpoint_count(settings, "batch_size", run_where));
  same("shard_size", run.shard_size, checkpoint_count(settings, "shard_size", run_where));
  same("truncation", run.truncation, checkpoint_count(settings, "truncation", run_where));
  same("seed", run.seed,
       checkpoint_member(settings, "seed", run_where, is_count, "an integer >= 0")
           .get<std::uint64_t>());
  same("shuffle", int(run.shuffle),
       int(checkpoint_member(settings, "shuffle", run_where, is_boolean, "true or false")
               .get<bool>()));

  checkpoint_progress read;
  read.epoch = checkpoint_count(document, "epoch", where);
  const auto& order = checkpoint_member(document, "order", where, is_array, "a list");
  std::vector<bool> seen(run.sequences, false);
  if (order.size() != run.sequences)
    throw checkpoint_error(concat({where, ": 'order' lists ", std::to_string(order.size()),
                                   " sequences, the run has ", std::to_string(run.sequences)}));
  for (const auto& v : order) {
    if (!v.is_number_unsigned() || v.get<std::size_t>() >= run.sequences ||
        seen[v.get<std::size_t>()])
      throw checkpoint_error(
          concat({where, ": 'order' is not an order of the ", std::to_string(run.sequences),
                  " sequences (at ", found_text(v), ")"}));
    seen[v.get<std::size_t>()] = true;
    read.order.push_back(v.get<std::size_t>());
  }
  {
    std::istringstream text(
        checkpoint_member(document, "shuffler", where, is_string, "a string").get<std::string>());
    text >> read.shuffler;
    if (text.fail() || !(text >> std::ws).eof())
      throw checkpoint_error(concat({where, ": 'shuffler' is not a random engine's state"}));
  }
  tape<Net> check;
  for (const auto& streams :
       checkpoint_member(document, "random_streams", where, is_array, "a list")) {
    std::vector<std::string> texts;
    if (streams.is_array())
      for (const auto& t : streams)
        if (t.is_string()) texts.push_back(t.get<std::string>());
    if (!streams.is_array() || texts.size() != streams.size())
      throw checkpoint_error(concat({where, ": 'random_streams' must hold lists of strings"}));
    try {
      check.set_random_state(texts);
    } catch (const std::invalid_argument& e) {
      throw checkpoint_error(concat({where, ": 'random_streams': ", e.what()}));
    }
    read.random_streams.push_back(std::move(texts));
  }

  auto weights = std::make_unique<Net>(model);
  Optimizer state = optimizer;
  try {
    load_weights_from_json(*weights,
                           checkpoint_member(document, "weights", where, is_object, "an object"),
                           path.string() + " weights");
    const auto& saved = checkpoint_member(document, "optimizer", where, is_object, "an object");
    const std::string optimizer_where = where + " optimizer";
    const auto& name = checkpoint_member(saved, "name", optimizer_where, is_string, "a string");
    if (name.get<std::string>() != Optimizer::name)
      throw checkpoint_error(concat({where, " holds the state of ", json_text(name),
                                     ", not of the optimiser given, \"", Optimizer::name, "\""}));
    std::size_t members = 1;
    state.visit_state([&](std::string_view key, auto& value) {
      const std::string k(key);
      if constexpr (std::is_integral_v<std::remove_cvref_t<decltype(value)>>) {
        value = checkpoint_count(saved, k, optimizer_where);
        ++members;
      } else if (value) {
        load_weights_from_json(*value,
                               checkpoint_member(saved, k, optimizer_where, is_object, "an object"),
                               path.string() + " optimizer " + k);
        ++members;
      } else if (saved.contains(k)) {
        throw checkpoint_error(concat({where, ": the optimiser holds no '", k,
                                       "' with the options given, the checkpoint does"}));
      }
    });
    if (saved.size() != members)
      throw checkpoint_error(concat({where, ": the optimiser state has members that \"",
                                     Optimizer::name, "\" does not have"}));
  } catch (const weights_error& e) {
    throw checkpoint_error(e.what());
  }
  model = *weights;
  optimizer = state;
  progress = std::move(read);
}

}  // namespace detail

}  // namespace RNNX_NAMESPACE
