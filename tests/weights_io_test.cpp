// Weight files: exact round trips, and every malformed input rejected with a message naming
// the layer and the field, leaving the model unchanged.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <csignal>
#include <span>
#include <sys/resource.h>
#include <rnnx/dynamic/dynamic.hpp>
#include <rnnx/rnnx.hpp>
#include <string>
#include <vector>

#include "random_parameters.hpp"
#include "weights_error_of.hpp"

namespace {

using Model = rnnx::network<rnnx::lstm<2, 3>, rnnx::dense<3, 2, rnnx::sigmoid>>;
using json = nlohmann::json;

template <class Net>
std::unique_ptr<Net> random_model(unsigned seed) {
  auto model = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, seed, -1.0 / 3, 1.0 / 3);
  return model;
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("rnnx_io_test_" + name);
}

TEST(WeightsIo, FloatRoundTripIsBitExact) {
  auto model = random_model<Model>(1);
  const auto path = temp_file("float.json");
  rnnx::save_weights(*model, path);
  auto loaded = std::make_unique<Model>();
  rnnx::load_weights(*loaded, path);
  EXPECT_TRUE(*loaded == *model);
  std::filesystem::remove(path);
}

TEST(WeightsIo, DoubleRoundTripIsBitExact) {
  using Net = rnnx::basic_network<double, rnnx::gru<3, 4>, rnnx::rnn<4, 5, rnnx::relu>,
                                  rnnx::activation<5, rnnx::softmax>>;
  auto model = random_model<Net>(2);
  auto loaded = std::make_unique<Net>();
  rnnx::load_weights_from_string(*loaded, rnnx::weights_to_string(*model));
  EXPECT_TRUE(*loaded == *model);
}

TEST(WeightsIo, SavedTextIsDeterministicAndDocumentsTheModel) {
  auto model = random_model<Model>(3);
  const std::string text = rnnx::weights_to_string(*model);
  EXPECT_EQ(text, rnnx::weights_to_string(*model));
  const json doc = json::parse(text);
  EXPECT_EQ(doc["format"], "rnnx.weights");
  EXPECT_EQ(doc["dtype"], "float32");
  EXPECT_EQ(doc["layers"][0]["type"], "lstm");
  EXPECT_EQ(doc["layers"][0]["parameters"]["weight_ih"].size(), 12u);  // 4H x In
  EXPECT_EQ(doc["layers"][0]["parameters"]["weight_ih"][0].size(), 2u);
  EXPECT_EQ(doc["layers"][1]["activation"], "sigmoid");
}

TEST(WeightsIo, Float32FileLoadsExactlyIntoDoubleModel) {
  auto model = random_model<Model>(4);
  using Net64 = rnnx::basic_network<double, rnnx::lstm<2, 3>, rnnx::dense<3, 2, rnnx::sigmoid>>;
  auto wide = std::make_unique<Net64>();
  rnnx::load_weights_from_string(*wide, rnnx::weights_to_string(*model));
  double max_diff = 0;
  model->for_each_layer([&](auto i, const auto& layer) {
    std::vector<double> narrow_values, wide_values;
    layer.visit_parameters([&](std::string_view, const auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c)
          narrow_values.push_back(p.at(r, c));
    });
    wide->template layer<decltype(i)::value>().visit_parameters(
        [&](std::string_view, const auto& p) {
          for (std::size_t r = 0; r < p.rows; ++r)
            for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c)
              wide_values.push_back(p.at(r, c));
        });
    ASSERT_EQ(narrow_values.size(), wide_values.size());
    for (std::size_t k = 0; k < wide_values.size(); ++k)
      max_diff = std::max(max_diff, std::abs(narrow_values[k] - wide_values[k]));
  });
  EXPECT_EQ(max_diff, 0.0);
}

// Messages quote a document's values with rnnx::detail::json_text, which stands in for
// nlohmann::json's dump() so that loaders do not compile its serializer: the text must be
// dump()'s, for every kind of value.
TEST(WeightsIo, MessagesQuoteValuesAsDumpDoes) {
  std::vector<json> values = {nullptr,
                              true,
                              false,
                              0,
                              -0.0,
                              1,
                              -7,
                              32.0,
                              0.1,
                              1e39,
                              1e-7,
                              1e15,
                              1e16,
                              123456789012345678.0,
                              5e-324,
                              1.7976931348623157e308,
                              std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::infinity(),
                              std::numeric_limits<std::int64_t>::min(),
                              std::numeric_limits<std::uint64_t>::max(),
                              "",
                              "tanh",
                              "quote \" backslash \\ slash / tab \t newline \n cr \r",
                              std::string("bell \x07 nul ") + '\0' + " unit \x1f del \x7f",
                              "\b\f",
                              "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xB5",
                              json::array(),
                              json::object(),
                              json::binary({1, 2, 255}),
                              json::binary({}, 7)};
  values.push_back({{"b", {1, 2.5, "x"}}, {"a", nullptr}, {"c", {{"d", json::array()}}}});
  std::mt19937_64 bits(7);
  for (int i = 0; i < 2000; ++i) {  // doubles of every exponent, as bit patterns
    std::uint64_t pattern = bits();
    double d;
    std::memcpy(&d, &pattern, sizeof d);
    if (std::isfinite(d)) values.push_back(d);
    values.push_back(static_cast<double>(static_cast<float>(bits() % 100000) / 1024.0f));
  }
  for (const json& v : values) EXPECT_EQ(rnnx::detail::json_text(v), v.dump());
}

// A string that is not UTF-8 (only a document built in code holds one): json_text throws
// what dump() throws.
TEST(WeightsIo, NonUtf8StringsFailAsDumpDoes) {
  for (const std::string& s :
       {std::string("\xFF"), std::string("ab\xC3"), std::string("\xC0\xAF"),
        std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"), std::string("x\xE2\x28\xA1"),
        std::string("\xF0\x9F\x8E"), std::string("\x80")}) {
    std::string expected, actual;
    try {
      static_cast<void>(json(s).dump());
    } catch (const json::type_error& e) {
      expected = e.what();
    }
    try {
      static_cast<void>(rnnx::detail::json_text(json(s)));
    } catch (const json::type_error& e) {
      actual = e.what();
    }
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(actual, expected);
  }
}

class WeightsErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    model = random_model<Model>(5);
    original = std::make_unique<Model>(*model);
    doc = json::parse(rnnx::weights_to_string(*random_model<Model>(6)));
  }
  /// Loading `bad` must throw weights_error containing every part, and change nothing.
  void expect_rejected(const json& bad, std::initializer_list<std::string> parts) {
    try {
      rnnx::load_weights_from_json(*model, bad, "bad.json");
      ADD_FAILURE() << "accepted a bad document";
    } catch (const rnnx::weights_error& e) {
      const std::string message = e.what();
      for (const auto& part : parts)
        EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
    }
    EXPECT_TRUE(*model == *original) << "a failed load changed the model";
  }
  std::unique_ptr<Model> model, original;
  json doc;
};

TEST_F(WeightsErrors, ValidDocumentLoads) {
  EXPECT_NO_THROW(rnnx::load_weights_from_json(*model, doc));
  EXPECT_FALSE(*model == *original);
}

TEST_F(WeightsErrors, HeaderFields) {
  json bad = doc;
  bad["format"] = "keras";
  expect_rejected(bad, {"bad.json", "format"});
  bad = doc;
  bad["version"] = 2;
  expect_rejected(bad, {"version", "must be 1", "found 2"});
  bad = doc;
  bad["dtype"] = "float16";
  expect_rejected(bad, {"dtype"});
  bad = doc;
  bad["dtype"] = "float64";
  expect_rejected(bad, {"float64", "model is float32"});
  bad = doc;
  bad.erase("layers");
  expect_rejected(bad, {"'layers'"});
  expect_rejected(json::array(), {"must be a JSON object"});
}

TEST_F(WeightsErrors, LayerCountTypeAndSizes) {
  json bad = doc;
  bad["layers"].erase(1);
  expect_rejected(bad, {"the file has 1 layers", "has 2", "lstm<2, 3> -> dense<3, 2, sigmoid>"});
  bad = doc;
  bad["layers"][0]["type"] = "gru";
  expect_rejected(bad, {"layer 0", "type is 'gru'", "lstm<2, 3>"});
  bad = doc;
  bad["layers"][0]["hidden_size"] = 4;
  expect_rejected(bad, {"layer 0", "'hidden_size' is 4", "(3)"});
  bad = doc;
  bad["layers"][1]["activation"] = "tanh";
  expect_rejected(bad, {"layer 1 (dense<3, 2, sigmoid>)", "'activation'", "\"tanh\""});
  bad = doc;
  bad["layers"][1].erase("in_features");
  expect_rejected(bad, {"layer 1", "'in_features' is missing"});
  bad = doc;
  bad["layers"][1]["dropout"] = 0.5;
  expect_rejected(bad, {"layer 1", "unknown field 'dropout'"});
}

TEST_F(WeightsErrors, ParameterPresenceAndShapes) {
  json bad = doc;
  bad["layers"][0]["parameters"].erase("bias_hh");
  expect_rejected(bad, {"layer 0 (lstm<2, 3>)", "parameter 'bias_hh' is missing"});
  bad = doc;
  bad["layers"][0]["parameters"]["weight_hr"] = json::array();
  expect_rejected(bad, {"layer 0", "unknown parameter 'weight_hr'"});
  bad = doc;
  bad["layers"][0]["parameters"]["weight_ih"].erase(11);
  expect_rejected(bad, {"layer 0", "'weight_ih'", "12 rows", "[12 x 2]", "found 11 entries"});
  bad = doc;
  bad["layers"][0]["parameters"]["weight_hh"][5].push_back(0.5);
  expect_rejected(bad, {"'weight_hh' row 5", "3 numbers", "found 4 entries"});
  bad = doc;
  bad["layers"][1]["parameters"]["bias"] = 0.5;
  expect_rejected(bad, {"layer 1", "'bias'", "list of 2 numbers", "found a number"});
}

TEST_F(WeightsErrors, Values) {
  json bad = doc;
  bad["layers"][1]["parameters"]["weight"][1][2] = "0.5";
  expect_rejected(bad, {"layer 1", "'weight'[1][2]", "a string, not a number"});
  bad = doc;
  bad["layers"][0]["parameters"]["bias_ih"][3] = nullptr;
  expect_rejected(bad, {"layer 0", "'bias_ih'[3]", "null"});
  bad = doc;
  bad["layers"][0]["parameters"]["bias_ih"][3] = 1e39;  // finite in JSON, not as a float
  expect_rejected(bad, {"'bias_ih'[3]", "not a finite float32"});
}

TEST_F(WeightsErrors, TextAndFiles) {
  EXPECT_THROW(rnnx::load_weights_from_string(*model, "{\"format\": "), rnnx::weights_error);
  EXPECT_TRUE(*model == *original);
  try {
    rnnx::load_weights_from_string(*model, "[1, 2, NaN]");
    ADD_FAILURE();
  } catch (const rnnx::weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  try {
    rnnx::load_weights(*model, "/nonexistent/model.json");  // a plain string is a path
    ADD_FAILURE();
  } catch (const rnnx::weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open '/nonexistent/model.json'"),
              std::string::npos);
  }
  // A number beyond double's range makes nlohmann::json throw out_of_range, not parse_error
  // (found by tests/fuzz/weights_fuzz.cpp): it must still be a weights_error.
  std::string huge = rnnx::weights_to_string(*model);
  huge.replace(huge.find("\"bias\": [") + 9, 0, "1e400, ");
  const auto huge_path = temp_file("huge_number.json");
  std::ofstream(huge_path) << huge;
  for (const bool from_file : {false, true}) {
    try {
      if (from_file) {
        rnnx::load_weights(*model, huge_path);
      } else {
        rnnx::load_weights_from_string(*model, huge);
      }
      ADD_FAILURE();
    } catch (const rnnx::weights_error& e) {
      EXPECT_NE(std::string(e.what()).find("number overflow"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(*model == *original);
  }
  std::filesystem::remove(huge_path);
  const auto path = temp_file("truncated.json");
  const std::string text = rnnx::weights_to_string(*model);
  std::ofstream(path) << text.substr(0, text.size() / 2);
  try {
    rnnx::load_weights(*model, path);
    ADD_FAILURE();
  } catch (const rnnx::weights_error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  // The file's text goes through the same parser as text: the same message after the prefix.
  try {
    rnnx::load_weights_from_string(*model, text.substr(0, text.size() / 2));
    ADD_FAILURE();
  } catch (const rnnx::weights_error& from_text) {
    try {
      rnnx::load_weights(*model, path);
      ADD_FAILURE();
    } catch (const rnnx::weights_error& from_file) {
      const std::string prefix = "rnnx::load_weights: ";
      const std::string file_prefix = "rnnx::load_weights(" + path.string() + "): ";
      ASSERT_EQ(std::string(from_text.what()).rfind(prefix, 0), 0u) << from_text.what();
      ASSERT_EQ(std::string(from_file.what()).rfind(file_prefix, 0), 0u) << from_file.what();
      EXPECT_EQ(std::string(from_text.what()).substr(prefix.size()),
                std::string(from_file.what()).substr(file_prefix.size()));
    }
  }
  std::filesystem::remove(path);
  EXPECT_THROW(rnnx::save_weights(*model, std::filesystem::path("/nonexistent/dir/m.json")),
               rnnx::weights_error);
}

}  // namespace

// ---- nothing is lost: refusing non-finite values, replacing files only when complete ------

namespace nothing_lost {

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A fresh directory of its own under the temp directory.
std::filesystem::path fresh_directory(const std::string& name) {
  const auto dir = temp_file(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

using rnnx_test::error_of;

TEST(WeightsFiles, ANonFiniteWeightIsRefusedAndThePreviousFileKept) {
  const auto dir = fresh_directory("non_finite");
  const auto path = dir / "model.json";
  auto model = random_model<Model>(3);
  rnnx::save_weights(*model, path);
  const std::string before = file_text(path);
  auto diverged = std::make_unique<Model>(*model);
  rnnx::for_each_parameter(
      [&](std::size_t layer, std::string_view name, std::span<float> values) {
        if (layer == 0 && name == "weight_hh") values[0] = std::numeric_limits<float>::quiet_NaN();
      },
      *diverged);
  const std::string message = error_of([&] { rnnx::save_weights(*diverged, path); });
  EXPECT_NE(message.find("layer 0 (lstm<2, 3>) weight_hh[0][0] is nan"), std::string::npos) << message;
  EXPECT_NE(message.find("] is nan; a weight file holds finite values only"), std::string::npos)
      << message;
  EXPECT_EQ(file_text(path), before);
  auto loaded = std::make_unique<Model>();
  rnnx::load_weights(*loaded, path);
  EXPECT_TRUE(*loaded == *model);
  // The same for the dynamic writer and an infinity.
  auto dynamic = rnnx::dynamic::from_typed(*model);
  *diverged = *model;
  rnnx::for_each_parameter(
      [&](std::size_t layer, std::string_view name, std::span<float> values) {
        if (layer == 1 && name == "bias") values[1] = -std::numeric_limits<float>::infinity();
      },
      *diverged);
  const std::string dynamic_message = error_of(
      [&] { rnnx::dynamic::save_weights(rnnx::dynamic::from_typed(*diverged), path); });
  EXPECT_NE(dynamic_message.find("layer 1 (dense) bias[1] is -inf"), std::string::npos)
      << dynamic_message;
  EXPECT_EQ(file_text(path), before);
  // No temporary file is left behind, after a success or a refusal.
  rnnx::dynamic::save_weights(dynamic, path);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}

TEST(WeightsFiles, AFailedWriteLeavesThePreviousFile) {
  const auto dir = fresh_directory("failed_write");
  const auto path = dir / "model.json";
  auto model = random_model<Model>(4);
  rnnx::save_weights(*model, path);
  const std::string before = file_text(path);
  // A write error in the middle of the file: files may not grow beyond 100 bytes.
  const auto other = random_model<Model>(5);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 100;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string message = error_of([&] { rnnx::save_weights(*other, path); });
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  EXPECT_NE(message.find("rnnx::save_weights: writing '" + path.string() + "' failed: File too large"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("(the previous file is unchanged)"), std::string::npos) << message;
  EXPECT_EQ(file_text(path), before);
  // The new file keeps the previous one's permissions.
  std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write |
                                         std::filesystem::perms::group_read);
  rnnx::save_weights(*other, path);
  EXPECT_EQ(std::filesystem::status(path).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read);
  // A device cannot be replaced: written in place, its error reported.
  const std::string full = error_of([&] { rnnx::save_weights(*other, "/dev/full"); });
  EXPECT_NE(full.find("writing '/dev/full' failed: No space left on device"), std::string::npos)
      << full;
  // A directory in place of the file, and a directory that does not exist.
  EXPECT_NE(error_of([&] { rnnx::save_weights(*other, dir); })
                .find("cannot write '" + dir.string() + "': it is a directory"),
            std::string::npos);
  EXPECT_NE(error_of([&] { rnnx::save_weights(*other, dir / "absent" / "m.json"); })
                .find("No such file or directory"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(WeightsFiles, EveryLoaderNamesThePathAndTheProblem) {
  const auto dir = fresh_directory("loaders");
  auto model = std::make_unique<Model>();
  const std::string typed = error_of([&] { rnnx::load_weights(*model, dir); });
  EXPECT_NE(typed.find("rnnx::load_weights: cannot open '" + dir.string() + "': it is a directory"),
            std::string::npos)
      << typed;
  const std::string dynamic = error_of([&] { rnnx::dynamic::load_network(dir); });
  EXPECT_NE(dynamic.find("rnnx::dynamic::load_weights: cannot open '" + dir.string() +
                         "': it is a directory"),
            std::string::npos)
      << dynamic;
  const std::string missing = error_of([&] { rnnx::dynamic::load_network(dir / "absent.json"); });
  EXPECT_NE(missing.find("absent.json': No such file or directory"), std::string::npos) << missing;
  auto state = model->initial_state();
  try {
    rnnx::load_state_file(*model, state, dir);
    ADD_FAILURE();
  } catch (const rnnx::state_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open '" + dir.string() + "': it is a directory"),
              std::string::npos)
        << e.what();
  }
  // A number beyond double's range in text given to the dynamic loader: a weights_error too.
  std::string huge = rnnx::weights_to_string(*model);
  huge.replace(huge.find("\"bias\": [") + 9, 0, "1e400, ");
  EXPECT_NE(error_of([&] { rnnx::dynamic::network_from_string(huge); }).find("not valid JSON"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(WeightsFiles, DuplicateKeysAreRefusedByEveryLoader) {
  auto model = random_model<Model>(6);
  std::string text = rnnx::weights_to_string(*model);
  // The dense layer's "bias" twice: which one would a loader keep?
  const std::size_t at = text.find("\"bias\": [");
  std::string twice = text;
  twice.insert(at, "\"bias\": [0, 0], ");
  auto loaded = std::make_unique<Model>(*model);
  const std::string typed = error_of([&] { rnnx::load_weights_from_string(*loaded, twice); });
  EXPECT_NE(typed.find("not valid JSON: the key \"bias\" appears twice in one object"),
            std::string::npos)
      << typed;
  EXPECT_TRUE(*loaded == *model);
  const std::string dynamic =
      error_of([&] { rnnx::dynamic::network_from_string(twice); });
  EXPECT_NE(dynamic.find("the key \"bias\" appears twice in one object"), std::string::npos)
      << dynamic;
  // The same key in two different objects is fine.
  rnnx::load_weights_from_string(*loaded, text);
  EXPECT_TRUE(*loaded == *model);
}

TEST(WeightsFiles, MessagesQuoteAtMostAShortPieceOfAValue) {
  auto model = std::make_unique<Model>();
  nlohmann::json doc = nlohmann::json::parse(rnnx::weights_to_string(*model));
  doc["layers"][0]["type"] = std::string(1000000, 'x');
  const std::string type = error_of([&] { rnnx::load_weights_from_json(*model, doc); });
  EXPECT_LT(type.size(), 300u) << type.substr(0, 300);
  EXPECT_NE(type.find("... (1000000 bytes)"), std::string::npos) << type.substr(0, 300);
  doc = nlohmann::json::parse(rnnx::weights_to_string(*model));
  doc["layers"][0]["hidden_size"] = std::string(1000000, 'y');
  const std::string field = error_of([&] { rnnx::load_weights_from_json(*model, doc); });
  EXPECT_LT(field.size(), 300u) << field.substr(0, 300);
  EXPECT_NE(field.find("yyy... (a string of 1000000 bytes)"), std::string::npos)
      << field.substr(0, 300);
  doc = nlohmann::json::parse(rnnx::weights_to_string(*model));
  doc["layers"][0]["hidden_size"] = std::vector<int>(100000, 7);
  const std::string array = error_of([&] { rnnx::load_weights_from_json(*model, doc); });
  EXPECT_NE(array.find("(an array of 100000 values)"), std::string::npos) << array.substr(0, 300);
  // A byte that is not UTF-8 appears escaped, never raw.
  const std::string bad = error_of(
      [&] { rnnx::load_weights_from_string(*model, std::string("{\"format\": \"caf\xE9\"}")); });
  EXPECT_EQ(bad.find('\xE9'), std::string::npos) << bad;
  EXPECT_NE(bad.find("\\xE9"), std::string::npos) << bad;
}

TEST(WeightsFiles, AFileTooLargeForTheModelIsRefusedUnread) {
  const auto dir = fresh_directory("too_large");
  const auto path = dir / "model.json";
  auto model = random_model<Model>(7);
  rnnx::save_weights(*model, path);
  {
    std::ofstream out(path, std::ios::app);
    out << std::string(400000, ' ');  // still a valid document, but no such model needs it
  }
  auto loaded = std::make_unique<Model>();
  const std::string message = error_of([&] { rnnx::load_weights(*loaded, path); });
  EXPECT_NE(message.find("rnnx::load_weights: '" + path.string() + "' holds "), std::string::npos)
      << message;
  EXPECT_NE(message.find("this reader accepts; a weight file of lstm<2, 3> -> dense<3, 2, "
                         "sigmoid> holds at most about "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(" bytes: is it another model's? (rnnx::load_options::max_file_bytes "
                         "sets the limit)"),
            std::string::npos)
      << message;
  EXPECT_TRUE(*loaded == Model{});
  rnnx::load_weights(*loaded, path, {.max_file_bytes = 1 << 20});
  EXPECT_TRUE(*loaded == *model);
  EXPECT_NE(error_of([&] { rnnx::dynamic::load_network(path, {.max_file_bytes = 1000}); })
                .find("more than the 1000 this reader accepts"),
            std::string::npos);
  auto state = loaded->initial_state();
  try {
    rnnx::load_state_file(*loaded, state, path, {.max_file_bytes = 1000});
    ADD_FAILURE();
  } catch (const rnnx::state_error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the 1000 this reader accepts"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace nothing_lost
