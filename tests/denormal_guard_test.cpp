// rnnx::denormal_guard: flushes denormal inputs and results to zero inside its scope, restores
// the caller's mode after it, nests, and leaves a model's outputs unchanged for normal values.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <rnnx/realtime/denormal_guard.hpp>
#include <rnnx/rnnx.hpp>

namespace {

// volatile: the products must happen at run time, under the mode being tested
volatile float tiny = std::numeric_limits<float>::denorm_min() * 1000.0f;  // a denormal
volatile float small = std::numeric_limits<float>::min();                  // smallest normal
volatile float one = 1.0f, tenth = 0.1f;

TEST(DenormalGuard, FlushesDenormalsInsideItsScopeOnly) {
  if (!rnnx::denormal_guard::supported) GTEST_SKIP() << "no flush-to-zero control here";
  ASSERT_FALSE(rnnx::denormal_guard::active()) << "the test process starts without FTZ";
  ASSERT_NE(tiny * one, 0.0f);     // denormal input kept
  ASSERT_NE(small * tenth, 0.0f);  // denormal result kept
  {
    rnnx::denormal_guard guard;
    EXPECT_TRUE(rnnx::denormal_guard::active());
    EXPECT_EQ(tiny * one, 0.0f) << "DAZ: a denormal input reads as zero";
    EXPECT_EQ(small * tenth, 0.0f) << "FTZ: a denormal result becomes zero";
    {
      rnnx::denormal_guard nested;
      EXPECT_TRUE(rnnx::denormal_guard::active());
    }
    EXPECT_TRUE(rnnx::denormal_guard::active()) << "the inner guard restores the outer mode";
  }
  EXPECT_FALSE(rnnx::denormal_guard::active());
  EXPECT_NE(tiny * one, 0.0f);
}

TEST(DenormalGuard, ModelOutputsOfNormalValuesAreUnchanged) {
  rnnx::network<rnnx::lstm<1, 8>, rnnx::dense<8, 1>> model;
  rnnx::initialize(model, 5);
  auto plain = model.initial_state(), guarded = model.initial_state();
  for (int t = 0; t < 200; ++t) {
    const float x =
        std::sin(0.05f * static_cast<float>(t)) * std::exp(-0.02f * static_cast<float>(t));
    const float expected = model.step(x, plain)[0];
    rnnx::denormal_guard guard;
    EXPECT_EQ(model.step(x, guarded)[0], expected) << "step " << t;
  }
}

}  // namespace
