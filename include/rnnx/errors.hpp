#pragma once
// The exceptions rnnx throws. They stand outside the per-instruction-set namespace
// (rnnx/isa.hpp): a program that holds code built for several instruction sets catches one
// rnnx::weights_error, whichever code threw it.

#include <stdexcept>

namespace rnnx {

/// A weight file (or a model's parameters on their way to one) is not what the model needs:
/// the message names the file, the layer and the field.
struct weights_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A state file that does not fit the model, or cannot be read or written.
struct state_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A training checkpoint that cannot be written or read, or that does not belong to the run
/// resuming from it (another model, optimiser, data set or batch partition).
struct checkpoint_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Training stopped because a loss or a gradient stopped being finite.
class training_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace rnnx
