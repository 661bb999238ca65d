// A model_set listing one architecture twice (here spelled two ways) could not tell which type
// a weight file is for: one compile-time error says so.
#include <rnnx/realtime/model_set.hpp>
#include <rnnx/rnnx.hpp>

using Lstm = rnnx::network<rnnx::lstm<1, 8>, rnnx::dense<8, 1>>;
#ifdef RNNX_FAILTEST
using Set =
    rnnx::model_set<Lstm, rnnx::basic_network<float, rnnx::lstm<1, 8, double>, rnnx::dense<8, 1>>>;
#else
using Set = rnnx::model_set<Lstm, rnnx::basic_network<double, rnnx::lstm<1, 8>, rnnx::dense<8, 1>>>;
#endif

int main() {
  Set set;
  return static_cast<int>(set.active());
}
