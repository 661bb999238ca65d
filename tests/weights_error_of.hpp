#pragma once
// The message of the weights_error a call throws: how the loader tests read refusals.

#include <string>

#include "rnnx/errors.hpp"

namespace rnnx_test {

/// std::string of what `f` threw as a weights_error, or "" when it did not throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const rnnx::weights_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace rnnx_test
