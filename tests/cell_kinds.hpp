#pragma once
// The list of every cell declared through expr/ (rnnx::cell) that typed tests run over, as
// templates of (In, H, T) so that each test picks its sizes, including rnnx::dyn.

#include <gtest/gtest.h>

#include <cstddef>
#include <rnnx/rnnx.hpp>
#include <string_view>

namespace rnnx_test {

template <template <std::size_t, std::size_t, class> class Cell>
struct cell_kind {
  template <std::size_t In, std::size_t H, class T>
  using type = Cell<In, H, T>;
};
template <std::size_t In, std::size_t H, class T>
using lstm = rnnx::lstm<In, H, T>;
template <std::size_t In, std::size_t H, class T>
using peephole_lstm = rnnx::peephole_lstm<In, H, T>;
template <std::size_t In, std::size_t H, class T>
using rnn_tanh = rnnx::rnn<In, H, rnnx::tanh, T>;
template <std::size_t In, std::size_t H, class T>
using rnn_relu = rnnx::rnn<In, H, rnnx::relu, T>;

/// Not a published cell: products of input and hidden projections, so the tape must keep
/// input projections (W<k>) whose memory other kept values reuse.
struct crossed_equations {
  static constexpr std::string_view name = "crossed";
  static constexpr std::size_t gates = 2;
  static constexpr auto equations() {
    using namespace rnnx::expr;
    return next(tanh(W<1> * U<0> + W<0> * U<1>) + h * sigmoid(W<0>));
  }
};
template <std::size_t In, std::size_t H, class T>
using crossed = rnnx::cell<crossed_equations, In, H, T>;

using all_cells =
    ::testing::Types<cell_kind<rnn_tanh>, cell_kind<rnn_relu>, cell_kind<lstm>,
                     cell_kind<peephole_lstm>, cell_kind<rnnx::gru>, cell_kind<rnnx::cifg_lstm>,
                     cell_kind<rnnx::light_gru>, cell_kind<rnnx::indrnn>, cell_kind<crossed>,
                     cell_kind<rnnx::gru_reset_before>, cell_kind<rnnx::mgu>>;

}  // namespace rnnx_test
