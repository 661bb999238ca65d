// Generated headers of weight files with a "reference" (tests/data/reference) carry
// self_test_<Name>(): true for the exported files, in float and double, streaming or not, and
// false when one reference output is moved by 1e-3 (tamper_reference.py).

#include <gtest/gtest.h>

#include "reference_double_gru.hpp"
#include "reference_lstm.hpp"
#include "reference_lstm_as_double.hpp"
#include "reference_lstm_tampered.hpp"
#include "reference_tokens.hpp"

TEST(CodegenReference, SelfTestPassesForExportedFiles) {
  EXPECT_TRUE(codegen_test::reference::self_test_Lstm());
  EXPECT_TRUE(codegen_test::reference::as_double::self_test_Lstm());
  EXPECT_TRUE(codegen_test::reference::self_test_DoubleGru());
  EXPECT_TRUE(codegen_test::reference::self_test_Tokens());  // token ids, no streaming step
  EXPECT_EQ(codegen_test::reference::Lstm_reference::steps, 24u);
  EXPECT_EQ(codegen_test::reference::Lstm_reference::tolerance, 1e-5);
}

TEST(CodegenReference, SelfTestFailsForAMovedOutput) {
  EXPECT_FALSE(codegen_test::reference::tampered::self_test_Lstm());
}
