#pragma once
// The models of codegen_described_cells_test: rnnx's cells that rnnx-codegen knows only from
// the layer schema (no Python names them), and a user's cell from a schema of its own.

#include <rnnx/layers/bidirectional.hpp>
#include <rnnx/layers/cifg_lstm.hpp>
#include <rnnx/layers/dense.hpp>
#include <rnnx/layers/indrnn.hpp>
#include <rnnx/layers/light_gru.hpp>
#include <rnnx/layers/mgu.hpp>
#include <rnnx/network.hpp>

#include "janet_cell.hpp"

namespace described_cells {

using Streaming =
    rnnx::network<rnnx::mgu<2, 5>, rnnx::cifg_lstm<5, 4>, rnnx::light_gru<4, 3>, rnnx::indrnn<3, 3>,
                  user::janet<3, 4>, rnnx::dense<4, 2, rnnx::tanh>>;
using Bidirectional = rnnx::network<rnnx::bidirectional<rnnx::mgu<2, 3>>,
                                    rnnx::bidirectional<user::janet<6, 2>>, rnnx::dense<4, 1>>;

}  // namespace described_cells
