// Writes text with the character model compiled in: CharModel.hpp is generated at build time by
// rnnx-codegen from the committed model.json (rnnx_generate_header in CMakeLists.txt), so this
// program reads no file and parses nothing. For the same seed it writes exactly what
// charlm_demo writes from the same weights loaded at run time.
//
// Usage: charlm_generate [--seed S] [--length N] [--temperature X] [--prompt TEXT]

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "CharModel.hpp"
#include "charlm.hpp"

// The header's type comes from the weight file; the sampler's alphabet must fit it.
static_assert(std::is_same_v<charlm::CharModel, charlm::Model>,
              "model.json does not hold the model type charlm.hpp describes");

int main(int argc, char** argv) {
  unsigned long seed = 1, length = 400;
  double temperature = 0.7;
  std::string prompt = "Holmes";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (i + 1 >= argc)
        throw std::invalid_argument("usage: " + std::string(argv[0]) +
                                    " [--seed S] [--length N] [--temperature X]"
                                    " [--prompt TEXT]");
      const std::string value = argv[++i];
      if (arg == "--seed")
        seed = std::stoul(value);
      else if (arg == "--length")
        length = std::stoul(value);
      else if (arg == "--temperature")
        temperature = std::stod(value);
      else if (arg == "--prompt")
        prompt = value;
      else
        throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
    }
    const auto model = charlm::make_CharModel();
    std::printf("%s\n", charlm::sample(*model, prompt, length, temperature,
                                       static_cast<std::uint32_t>(seed))
                            .c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "charlm_generate: %s\n", e.what());
    return 2;
  }
}
