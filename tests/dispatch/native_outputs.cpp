// dispatch_test's reference: the dispatched model's translation unit compiled plainly for this
// machine (-march=native, no variants). Prints its instruction set, then every output of the
// fixture as the hex bits of the float, one per line.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>

#include "run_fixture.hpp"

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <fixture dir> <scratch weight file>\n", argv[0]);
    return 2;
  }
  const auto fixture = dispatch_test::read_fixture(argv[1]);
  dispatch_test::write_weights(fixture, argv[2]);
  auto model = make_dispatch_test_model();
  model->load_weights(argv[2]);
  std::printf("%s\n", std::string(rnnx::dispatch::name(model->isa())).c_str());
  for (float v : dispatch_test::stream(*model, fixture)) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    std::printf("%08x\n", static_cast<unsigned>(bits));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "dispatch_native_outputs: %s\n", e.what());
  return 1;
}
