#pragma once
// Reading the JSON document behind an rnnx file (weights, states) with the messages every
// loader gives: "<caller>: cannot open '<path>'", "<caller>(<path>): not valid JSON: ...",
// thrown as the loader's own error type; and the small questions the loaders ask of it.
//
// Compile time: nlohmann::json's parser is the heaviest code a loader compiles (about 2 s and
// 70 KiB of object code per translation unit), so files and text go through one
// instantiation of it, parse_json_document, whatever model and error types a program loads.
// Its serializer (dump) is not compiled at all: messages quote values with json_text.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "rnnx/io/files.hpp"

namespace rnnx::detail {

/// The pieces one after the other. Loaders build their messages with it: one call, where each
/// `a + b + c` of std::strings is expanded inline at -O3 and the checks' code would grow.
inline std::string concat(std::initializer_list<std::string_view> pieces) {
  std::string text;
  for (std::string_view piece : pieces) text += piece;
  return text;
}

/// Whether `text` is a JSON document: if so it is in `document`, if not nlohmann::json's
/// message is in `error` (parse_error, and out_of_range for a number such as 1e400).
inline bool parse_json_document(std::string_view text, nlohmann::json& document,
                                std::string& error) {
  try {
    document = nlohmann::json::parse(text.data(), text.data() + text.size());
    return true;
  } catch (const nlohmann::json::exception& e) {
    error = e.what();
    return false;
  }
}

/// The document in a file; `caller` ("rnnx::load_weights") starts the messages of Error.
template <class Error>
nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view caller) {
  std::string text;
  if (const std::string error = read_file_text(path, text); !error.empty())
    throw Error(concat({caller, ": ", error}));
  nlohmann::json document;
  std::string error;
  if (!parse_json_document(text, document, error))
    throw Error(concat({caller, "(", path.string(), "): not valid JSON: ", error}));
  return document;
}

/// Writes `text` over the file at `path` (detail::replace_file: the previous file survives a
/// failure); `caller` ("rnnx::save_weights") starts the message of Error.
template <class Error>
void write_document(const std::filesystem::path& path, std::string_view text,
                    std::string_view caller) {
  if (const std::string error = replace_file(path, text); !error.empty())
    throw Error(concat({caller, ": ", error}));
}

/// The document in JSON text.
template <class Error>
nlohmann::json parse_json_text(std::string_view text, std::string_view caller) {
  nlohmann::json document;
  std::string error;
  if (!parse_json_document(text, document, error))
    throw Error(concat({caller, ": not valid JSON: ", error}));
  return document;
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
inline void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  std::size_t continuation = 0;           // bytes still due in the current multi-byte sequence
  unsigned char low = 0x80, high = 0xBF;  // the range allowed for the next continuation byte
  for (std::size_t i = 0; i < s.size(); ++i) {
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

/// Appends v's compact JSON text, as v.dump() gives it.
inline void append_json_text(std::string& out, const nlohmann::json& v) {
  using value_t = nlohmann::json::value_t;
  switch (v.type()) {
    case value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : v.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, key);
        out += ':';
        append_json_text(out, value);
      }
      out += '}';
      return;
    }
    case value_t::array: {
      out += '[';
      bool first = true;
      for (const nlohmann::json& element : v.get_ref<const nlohmann::json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        append_json_text(out, element);
      }
      out += ']';
      return;
    }
    case value_t::string:
      append_json_string(out, v.get_ref<const std::string&>());
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

/// v's compact JSON text, as v.dump() gives it: how messages quote a value of a document.
inline std::string json_text(const nlohmann::json& v) {
  std::string out;
  append_json_text(out, v);
  return out;
}

}  // namespace rnnx::detail
