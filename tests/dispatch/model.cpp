// The model of dispatch_test: compiled once per instruction set there
// (rnnx_add_dispatched_sources), and once for this machine (-march=native) in
// dispatch_native_outputs. 33 units pad to 36 (SSE2), 40 (AVX2) or 48 (AVX-512) lanes: every
// variant runs its own tails.
#include <rnnx/dispatch/define.hpp>

RNNX_DISPATCHED_MODEL(make_dispatch_test_model,
                      rnnx::network<rnnx::lstm<3, 33>, rnnx::dense<33, 2, rnnx::tanh>>)
