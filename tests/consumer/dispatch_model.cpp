// The consumer's dispatched model: compiled once per instruction set by the installed
// rnnx_add_dispatched_sources (rnnx/dispatch/).
#include <rnnx/dispatch/define.hpp>

RNNX_DISPATCHED_MODEL(make_consumer_model, rnnx::network<rnnx::lstm<1, 8>, rnnx::dense<8, 1>>)
