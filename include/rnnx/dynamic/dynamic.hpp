#pragma once
// rnnx::dynamic: runtime-sized models (layers, network, weight files, conversion from a typed
// model). The one include for them.

#include "rnnx/dynamic/layers.hpp"
#include "rnnx/dynamic/network.hpp"
#include "rnnx/dynamic/weights.hpp"
