// A translation unit that loads a model, as an application linking rnnx::io compiles it: the
// build fails if any JSON code reaches it.
#include <rnnx/io/load_weights.hpp>

#include "compiled_io_model.hpp"

#if !defined(RNNX_COMPILED_IO)
#error "compiled_io_light.cpp must be built with rnnx::io (RNNX_COMPILED_IO)"
#endif
#if defined(NLOHMANN_JSON_VERSION_MAJOR)
#error "nlohmann::json reached a translation unit that only loads weights through rnnx::io"
#endif

namespace compiled_io {

void load_light(model& m, const std::filesystem::path& path) { rnnx::load_weights(m, path); }
void load_light_text(model& m, std::string_view text) { rnnx::load_weights_from_string(m, text); }

}  // namespace compiled_io
