#pragma once
// Reading the JSON document behind an rnnx file (weights, states) with the messages every
// loader gives: "<caller>: cannot open '<path>'", "<caller>(<path>): not valid JSON: ...",
// thrown as the loader's own error type; and the small questions the loaders ask of it.
//
// Compile time: nlohmann::json's parser is the heaviest code a loader compiles (about 2 s and
// 70 KiB of object code per translation unit), so files and text go through one
// instantiation of it, parse_json_document, whatever model and error types a program loads.
// Its serializer (dump) is not compiled at all: messages quote values with json_text.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "rnnx/io/files.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE::detail {

/// What kind of JSON value j is, for messages: "a string", "null", "an array", ...
inline std::string json_kind(const nlohmann::json& j) {
  return j.is_string()    ? "a string"
         : j.is_null()    ? "null"
         : j.is_boolean() ? "a boolean"
         : j.is_array()   ? "an array"
         : j.is_object()  ? "an object"
                          : "a number";
}

/// "1 number", "3 numbers": a count of things as messages print it.
inline std::string count_text(std::size_t n, std::string_view one, std::string_view many) {
  return concat({std::to_string(n), " ", n == 1 ? one : many});
}

/// "3 entries" / "a string": what stands where a list was due.
inline std::string found_text(const nlohmann::json& v) {
  return v.is_array() ? count_text(v.size(), "entry", "entries") : json_kind(v);
}

/// The member `key` of `object` (a JSON object), or null when it has none.
inline const nlohmann::json* find_member(const nlohmann::json& object, const std::string& key) {
  const auto& members = object.get_ref<const nlohmann::json::object_t&>();
  const auto it = members.find(key);
  return it == members.end() ? nullptr : &it->second;
}

/// Whether v is the string `text` (as `v == text` says, without building a JSON value).
inline bool is_string_equal(const nlohmann::json& v, std::string_view text) {
  return v.is_string() && v.get_ref<const std::string&>() == text;
}

/// Whether v is the number n, as `v == n` says: an integer equal to it, or a floating-point
/// number equal to it as a double.
inline bool is_number_equal(const nlohmann::json& v, int n) {
  switch (v.type()) {
    case nlohmann::json::value_t::number_integer:
      return v.get<std::int64_t>() == n;
    case nlohmann::json::value_t::number_unsigned:
      return static_cast<std::int64_t>(v.get<std::uint64_t>()) == n;
    case nlohmann::json::value_t::number_float:
      return v.get<double>() == static_cast<double>(n);
    default:
      return false;
  }
}

/// "0x3F": a byte as nlohmann::json's messages print it.
inline std::string hex_byte(unsigned char byte) {
  constexpr std::string_view digits = "0123456789ABCDEF";
  return {'0', 'x', digits[byte / 16], digits[byte % 16]};
}

/// The type_error nlohmann::json's dump() throws for a string that is not UTF-8.
[[noreturn]] inline void throw_not_utf8(const std::string& message) {
#if NLOHMANN_JSON_VERSION_MAJOR > 3 || NLOHMANN_JSON_VERSION_MINOR >= 11
  throw nlohmann::detail::type_error::create(316, message, nullptr);
#else
  throw nlohmann::detail::type_error::create(316, message, nlohmann::json());
#endif
}

/// Appends s as a JSON string literal, escaped as dump() escapes it (UTF-8 kept, control
/// characters escaped); throws dump()'s type_error if s is not UTF-8, which only a document
/// built in code, not a parsed one, can hold.
/// Stops once `out` is longer than `budget` (json_text's cut).
inline void append_json_string(std::string& out, const std::string& s,
                               std::size_t budget = std::string::npos) {
  out += '"';
  std::size_t continuation = 0;           // bytes still due in the current multi-byte sequence
  unsigned char low = 0x80, high = 0xBF;  // the range allowed for the next continuation byte
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (out.size() > budget && continuation == 0) return;
    const auto byte = static_cast<unsigned char>(s[i]);
    if (continuation > 0) {
      if (byte < low || byte > high)
        throw_not_utf8(
            concat({"invalid UTF-8 byte at index ", std::to_string(i), ": ", hex_byte(byte)}));
      --continuation;
      low = 0x80;
      high = 0xBF;
      out += s[i];
      continue;
    }
    if (byte >= 0x80) {  // the lead byte of a sequence (RFC 3629's table)
      if (byte >= 0xC2 && byte <= 0xDF) {
        continuation = 1;
      } else if (byte >= 0xE0 && byte <= 0xEF) {
        continuation = 2;
        low = byte == 0xE0 ? 0xA0 : 0x80;   // no overlong form
        high = byte == 0xED ? 0x9F : 0xBF;  // no surrogate
      } else if (byte >= 0xF0 && byte <= 0xF4) {
        continuation = 3;
        low = byte == 0xF0 ? 0x90 : 0x80;
        high = byte == 0xF4 ? 0x8F : 0xBF;  // nothing beyond U+10FFFF
      } else {
        throw_not_utf8(
            concat({"invalid UTF-8 byte at index ", std::to_string(i), ": ", hex_byte(byte)}));
      }
      out += s[i];
      continue;
    }
    constexpr std::string_view escaped = "\b\t\n\f\r\"\\", letters = "btnfr\"\\";
    if (const std::size_t k = escaped.find(static_cast<char>(byte)); k != escaped.npos) {
      out += '\\';
      out += letters[k];
    } else if (byte <= 0x1F) {  // the other control characters as \u00xx
      constexpr std::string_view digits = "0123456789abcdef";
      out += "\\u00";
      out += digits[byte / 16];
      out += digits[byte % 16];
    } else {
      out += s[i];
    }
  }
  if (continuation > 0)
    throw_not_utf8(concat(
        {"incomplete UTF-8 string; last byte: ", hex_byte(static_cast<unsigned char>(s.back()))}));
  out += '"';
}

/// Appends v's compact JSON text, as v.dump() gives it; stops once `out` is longer than
/// `budget`.
inline void append_json_text(std::string& out, const nlohmann::json& v,
                             std::size_t budget = std::string::npos) {
  using value_t = nlohmann::json::value_t;
  if (out.size() > budget) return;
  switch (v.type()) {
    case value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : v.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        if (out.size() > budget) return;
        append_json_string(out, key, budget);
        out += ':';
        append_json_text(out, value, budget);
      }
      out += '}';
      return;
    }
    case value_t::array: {
      out += '[';
      bool first = true;
      for (const nlohmann::json& element : v.get_ref<const nlohmann::json::array_t&>()) {
        if (out.size() > budget) return;
        if (!first) out += ',';
        first = false;
        append_json_text(out, element, budget);
      }
      out += ']';
      return;
    }
    case value_t::string:
      append_json_string(out, v.get_ref<const std::string&>(), budget);
      return;
    case value_t::binary: {
      const auto& binary = v.get_binary();
      out += "{\"bytes\":[";
      for (std::size_t i = 0; i < binary.size(); ++i) {
        if (i > 0) out += ',';
        out += std::to_string(binary[i]);
      }
      out += "],\"subtype\":";
      out += binary.has_subtype() ? std::to_string(binary.subtype()) : "null";
      out += '}';
      return;
    }
    case value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case value_t::number_integer:
      out += std::to_string(v.get<std::int64_t>());
      return;
    case value_t::number_unsigned:
      out += std::to_string(v.get<std::uint64_t>());
      return;
    case value_t::number_float: {
      const double x = v.get<double>();
      if (!std::isfinite(x)) {
        out += "null";
        return;
      }
      char buffer[64];  // dump()'s own shortest round-trip form
      out.append(buffer, nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, x));
      return;
    }
    case value_t::discarded:
      out += "<discarded>";
      return;
    case value_t::null:
      out += "null";
      return;
  }
}

/// How many bytes of a message one quoted value may take.
inline constexpr std::size_t quote_limit = 80;

/// The length of the UTF-8 sequence that starts s[i], or 0 if none does (RFC 3629).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if (byte(i + k) < low || byte(i + k) > high) return 0;
    low = 0x80;
    high = 0xBF;
  }
  return length;
}

/// Text from a file, fit for a message: at most `limit` bytes of it, cut between characters
/// and followed by "... (<n> bytes)" when longer; bytes that are not printable UTF-8 (control
/// characters, invalid sequences) as \xNN.
inline std::string brief(std::string_view s, std::size_t limit = quote_limit) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < limit) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t length = b >= 0x80 ? utf8_sequence(s, i) : 1;
    if (b < 0x20 || b == 0x7F || length == 0) {
      out += "\\x";
      out += hex_byte(b).substr(2);
      ++i;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  if (i < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

/// v's compact JSON text, as v.dump() gives it: how messages quote a value of a document.
/// A text longer than quote_limit is cut there (between characters), followed by "..." and
/// the value's size ("(a string of 100000000 bytes)"), so a message stays short whatever
/// the file holds.
inline std::string json_text(const nlohmann::json& v) {
  std::string out;
  append_json_text(out, v, quote_limit);
  if (out.size() <= quote_limit) return out;
  std::size_t cut = quote_limit;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  out += "...";
  if (v.is_string()) {
    out += " (a string of " + std::to_string(v.get_ref<const std::string&>().size()) + " bytes)";
  } else if (v.is_array()) {
    out += " (an array of " + std::to_string(v.size()) + " values)";
  } else if (v.is_object()) {
    out += " (an object of " + std::to_string(v.size()) + " members)";
  }
  return out;
}

/// nlohmann::json's message without the exception's id ("[json.exception.parse_error.101] "):
/// the id means nothing to a user, and rnnx-codegen's messages, which must match these
/// (tests/data/validation_cases.json), have none.
inline std::string without_exception_id(std::string_view message) {
  if (message.starts_with("[json.exception.")) {
    if (const std::size_t end = message.find("] "); end != message.npos)
      message.remove_prefix(end + 2);
  }
  return std::string(message);
}

/// A key that an object of the document holds twice (std::string: its text).
struct duplicate_key {
  std::string key;
};

/// Whether `text` is a JSON document: if so it is in `document`, if not why not is in `error`
/// (nlohmann::json's parse_error, out_of_range for a number such as 1e400, or a key that
/// one object holds twice: JSON leaves its meaning open, and loaders would silently keep one).
inline bool parse_json_document(std::string_view text, nlohmann::json& document,
                                std::string& error) {
  std::vector<std::vector<std::string>> keys;  // of each open object (a handful: a linear scan)
  const auto check = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using event_t = nlohmann::json::parse_event_t;
    if (event == event_t::object_start) {
      keys.emplace_back();
    } else if (event == event_t::object_end) {
      keys.pop_back();
    } else if (event == event_t::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      std::vector<std::string>& seen = keys.back();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) throw duplicate_key{key};
      seen.push_back(key);
    }
    return true;
  };
  try {
    document = nlohmann::json::parse(text.data(), text.data() + text.size(), check);
    return true;
  } catch (const nlohmann::json::exception& e) {
    error = without_exception_id(e.what());
  } catch (const duplicate_key& d) {
    error = "the key \"" + brief(d.key) + "\" appears twice in one object";
  }
  return false;
}

/// The document in a file; `caller` ("rnnx::load_weights") starts the messages of Error. A
/// file of more than max_bytes is refused unread.
/// `too_large_hint` follows the message of a file refused for its size.
template <class Error>
nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view caller,
                              std::size_t max_bytes = std::size_t(-1),
                              std::string_view too_large_hint = "") {
  std::string text;
  bool size = false;
  if (const std::string error = read_file_text(path, text, max_bytes, &size); !error.empty()) {
    throw Error(concat({caller, ": ", error, size ? too_large_hint : "",
                        size ? " (rnnx::load_options::max_file_bytes sets the limit)" : ""}));
  }
  nlohmann::json document;
  std::string error;
  if (!parse_json_document(text, document, error))
    throw Error(concat({caller, "(", path.string(), "): not valid JSON: ", brief(error, 400)}));
  return document;
}

/// The document in JSON text.
template <class Error>
nlohmann::json parse_json_text(std::string_view text, std::string_view caller) {
  nlohmann::json document;
  std::string error;
  if (!parse_json_document(text, document, error))
    throw Error(concat({caller, ": not valid JSON: ", brief(error, 400)}));
  return document;
}

}  // namespace RNNX_NAMESPACE::detail
