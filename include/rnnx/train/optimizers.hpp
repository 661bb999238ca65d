#pragma once
// The optimisers, each exactly its torch.optim counterpart (foreach=False). A model of the
// trained model's own type holds the gradients and each state buffer:
//   Net grads{};  rnnx::adam opt(model, {.lr = 1e-2});  ...  opt.step(model, grads);

#include "rnnx/train/optimizers/adagrad.hpp"
#include "rnnx/train/optimizers/adam.hpp"
#include "rnnx/train/optimizers/rmsprop.hpp"
#include "rnnx/train/optimizers/sgd.hpp"
