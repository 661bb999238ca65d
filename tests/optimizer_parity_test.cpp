// 20 training steps against torch.optim (tests/data/fixtures/optim_*.json): the same model,
// batch and MSE loss, each optimiser with its fixture's hyper-parameters and clipping. Every
// step's loss and the final parameters must match torch within 1e-5 (absolute; the float case
// 1e-4 relative to each tensor's largest value, float rounding having compounded for 20 steps).

#include <functional>

#include "training_support.hpp"

namespace {

using namespace rnnx;
using rnnx_test::read_fixture;
using rnnx_test::to_tensor3;

template <class T>
using model_type = basic_network<T, lstm<2, 5>, dense<5, 1>>;

/// step(model, grads) of the optimiser the fixture names, with its torch keyword arguments.
template <class Net>
std::function<void(Net&, const Net&)> make_optimizer(const Net& model, const nlohmann::json& o) {
  const std::string type = o.at("type");
  auto num = [&](const char* key, double fallback) { return o.value(key, fallback); };
  auto flag = [&](const char* key) { return o.value(key, false); };
  auto betas = [&] {
    return std::array<double, 2>{o.at("betas")[0].get<double>(), o.at("betas")[1].get<double>()};
  };
  auto wrap = [](auto optimizer) {
    auto shared = std::make_shared<decltype(optimizer)>(std::move(optimizer));
    return [shared](Net& m, const Net& g) { shared->step(m, g); };
  };
  if (type == "sgd")
    return wrap(sgd(model, {.lr = num("lr", 1e-3),
                            .momentum = num("momentum", 0),
                            .dampening = num("dampening", 0),
                            .weight_decay = num("weight_decay", 0),
                            .nesterov = flag("nesterov")}));
  if (type == "adam")
    return wrap(adam(model, {.lr = num("lr", 1e-3),
                             .betas = betas(),
                             .eps = num("eps", 1e-8),
                             .weight_decay = num("weight_decay", 0),
                             .amsgrad = flag("amsgrad")}));
  if (type == "adamw")
    return wrap(adamw(model, {.lr = num("lr", 1e-3),
                              .betas = betas(),
                              .eps = num("eps", 1e-8),
                              .weight_decay = num("weight_decay", 1e-2),
                              .amsgrad = flag("amsgrad")}));
  if (type == "rmsprop")
    return wrap(rmsprop(model, {.lr = num("lr", 1e-2),
                                .alpha = num("alpha", 0.99),
                                .eps = num("eps", 1e-8),
                                .weight_decay = num("weight_decay", 0),
                                .momentum = num("momentum", 0),
                                .centered = flag("centered")}));
  if (type == "adagrad")
    return wrap(adagrad(model, {.lr = num("lr", 1e-2),
                                .lr_decay = num("lr_decay", 0),
                                .weight_decay = num("weight_decay", 0),
                                .initial_accumulator_value = num("initial_accumulator_value", 0),
                                .eps = num("eps", 1e-10)}));
  throw std::runtime_error("unknown optimizer " + type);
}

template <class T>
void check_optimizer_fixture(const std::string& name) {
  using Net = model_type<T>;
  const nlohmann::json fixture = read_fixture(name);
  auto model = std::make_unique<Net>();
  load_weights_from_json(*model, fixture.at("model"), name);
  auto expected = std::make_unique<Net>();
  load_weights_from_json(*expected, fixture.at("final"), name + " (final)");
  const auto xs = to_tensor3<T>(fixture.at("input"));
  const auto targets = to_tensor3<T>(fixture.at("target"));
  auto step = make_optimizer(*model, fixture.at("optimizer"));
  const nlohmann::json& clip = fixture.at("clip");

  auto grads = std::make_unique<Net>();
  tape<Net> tp;
  xt::xtensor<T, 3> dys;
  const std::size_t steps = fixture.at("steps");
  for (std::size_t k = 0; k < steps; ++k) {
    zero(*grads);
    const auto ys = tp.forward(*model, xs);
    const T loss = mse{}(ys, targets, dys);
    const double torch_loss = fixture.at("losses")[k].get<double>();
    EXPECT_NEAR(loss, torch_loss, 1e-6 * std::abs(torch_loss)) << name << " step " << k;
    tp.backward(*model, dys, *grads);
    if (clip.is_object() && clip.contains("max_norm"))
      clip_grad_norm(*grads, clip.at("max_norm").get<double>());
    if (clip.is_object() && clip.contains("value"))
      clip_grad_value(*grads, clip.at("value").get<double>());
    step(*model, *grads);
  }
  double worst = 0;
  for_each_parameter(
      [&](std::size_t layer, std::string_view param, std::span<const T> actual,
          std::span<const T> wanted) {
        double error = 0;
        if constexpr (std::is_same_v<T, float>) {
          error = rnnx_test::relative_error(actual, wanted);
          EXPECT_LE(error, 1e-4) << name << ": layer " << layer << " " << param;
        } else {
          for (std::size_t i = 0; i < actual.size(); ++i)
            error = std::max(error, std::abs(actual[i] - wanted[i]));
          EXPECT_LE(error, 1e-5) << name << ": layer " << layer << " " << param;
        }
        worst = std::max(worst, error);
      },
      std::as_const(*model), std::as_const(*expected));
  std::cout << "[ optimizer] " << name << ": max parameter difference after " << steps << " steps "
            << worst << "\n";
}

TEST(OptimizerParity, Sgd) {
  check_optimizer_fixture<double>("optim_sgd");
  check_optimizer_fixture<double>("optim_sgd_momentum");
  check_optimizer_fixture<double>("optim_sgd_nesterov_wd");
  check_optimizer_fixture<double>("optim_sgd_clip_value");
}
TEST(OptimizerParity, Adam) {
  check_optimizer_fixture<double>("optim_adam");
  check_optimizer_fixture<double>("optim_adam_amsgrad");
  check_optimizer_fixture<double>("optim_adam_l2");
  check_optimizer_fixture<double>("optim_adamw");
  check_optimizer_fixture<double>("optim_adam_clip_norm");
  check_optimizer_fixture<float>("optim_float_adam");
}
TEST(OptimizerParity, RmspropAndAdagrad) {
  check_optimizer_fixture<double>("optim_rmsprop");
  check_optimizer_fixture<double>("optim_rmsprop_centered_momentum");
  check_optimizer_fixture<double>("optim_adagrad");
}

}  // namespace
