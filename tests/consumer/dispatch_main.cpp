// Built for the baseline; runs the variant of dispatch_model.cpp that this CPU runs best.
#include <cstdio>
#include <memory>
#include <rnnx/dispatch/model.hpp>

std::unique_ptr<rnnx::dispatch::model> make_consumer_model();

int main() {
  const auto model = make_consumer_model();
  const float x = 1.0f;
  float y = -1.0f;
  model->process(&x, &y, 1);
  std::printf("%s (%s): %g\n", model->description().c_str(),
              std::string(rnnx::dispatch::name(model->isa())).c_str(), y);
  return y == 0.0f && model->description() == "lstm<1, 8> -> dense<8, 1, identity>" ? 0 : 1;
}
