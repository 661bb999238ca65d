// Real-time safety: a streaming step allocates nothing. A counting global operator new sees
// every heap allocation of this process while the counter is armed.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <rnnx/rnnx.hpp>

#include "counting_allocator.hpp"

using rnnx_test::allocations;
using rnnx_test::counting;

namespace {

template <class Model>
long allocations_during_steps(std::size_t steps) {
  auto model = std::make_unique<Model>();
  auto state = model->initial_state();
  std::array<typename Model::scalar, Model::in_size> x{};
  allocations = 0;
  counting = true;
  for (std::size_t t = 0; t < steps; ++t) {
    x[0] = static_cast<typename Model::scalar>(t % 17) * 0.1f;
    model->step(x, state);
    state.reset();  // reset belongs to the real-time path too
    model->step(x, state);
  }
  counting = false;
  return allocations;
}

TEST(Allocation, CounterSeesAllocations) {
  allocations = 0;
  counting = true;
  auto p = std::make_unique<std::array<double, 100>>();
  counting = false;
  EXPECT_EQ(allocations, 1) << "the counting operator new is not in effect";
}

TEST(Allocation, StepAllocatesNothing) {
  EXPECT_EQ((allocations_during_steps<rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>>(1000)),
            0);
  EXPECT_EQ((allocations_during_steps<rnnx::network<rnnx::gru<3, 17>, rnnx::rnn<17, 9, rnnx::relu>,
                                                    rnnx::dense<9, 4, rnnx::softmax>>>(1000)),
            0);
  EXPECT_EQ(
      (allocations_during_steps<rnnx::basic_network<
           double, rnnx::lstm<2, 128>, rnnx::activation<128, rnnx::tanh>, rnnx::dense<128, 2>>>(
          100)),
      0);
}

}  // namespace
