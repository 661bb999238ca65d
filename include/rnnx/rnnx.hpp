#pragma once
// rnnx: recurrent networks whose topology is a C++ type. The only include a user needs.

#include "rnnx/io/weights.hpp"
#include "rnnx/layers/activation_functions.hpp"
#include "rnnx/layers/dense.hpp"
#include "rnnx/layers/gru.hpp"
#include "rnnx/layers/lstm.hpp"
#include "rnnx/layers/rnn.hpp"
#include "rnnx/network.hpp"
#include "rnnx/parameters.hpp"
#include "rnnx/summary.hpp"
#include "rnnx/train/clipping.hpp"
#include "rnnx/train/fit.hpp"
#include "rnnx/train/initialization.hpp"
#include "rnnx/train/losses.hpp"
#include "rnnx/train/optimizers.hpp"
#include "rnnx/train/tape.hpp"
