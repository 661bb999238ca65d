// The models of bench/dispatch_bench.cpp: bench/step_bench.cpp's LSTM(1 -> H) and GRU(1 -> H)
// with Dense(H -> 1), through rnnx/dispatch/. rnnx_bench_dispatch compiles this file once per
// instruction set (the portable binary); rnnx_bench_dispatch_native once, for this machine.
#include <rnnx/dispatch/define.hpp>

#define RNNX_BENCH_DISPATCHED(h)                                                           \
  RNNX_DISPATCHED_MODEL(make_lstm_##h, rnnx::network<rnnx::lstm<1, h>, rnnx::dense<h, 1>>) \
  RNNX_DISPATCHED_MODEL(make_gru_##h, rnnx::network<rnnx::gru<1, h>, rnnx::dense<h, 1>>)

RNNX_BENCH_DISPATCHED(8)
RNNX_BENCH_DISPATCHED(16)
RNNX_BENCH_DISPATCHED(32)
RNNX_BENCH_DISPATCHED(64)
RNNX_BENCH_DISPATCHED(128)
