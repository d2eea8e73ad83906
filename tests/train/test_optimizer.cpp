// Optimizer parameter groups, LR schedules, gradient clipping and their config keys.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config.h"
#include "core/error.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
namespace seer_test_test_optimizer {

using namespace seer;

namespace {

struct Net : torch::nn::Module {
  Net() {
    backbone = register_module("backbone", torch::nn::Linear(2, 2));
    head = register_module("head", torch::nn::Linear(2, 1));
    frozen = register_parameter("frozen", torch::ones({3}), /*requires_grad=*/false);
  }
  torch::nn::Linear backbone{nullptr}, head{nullptr};
  torch::Tensor frozen;
};

OptimizerOptions parse_optimizer(const std::string& yaml) {
  Config c = Config::from_string(yaml);
  OptimizerOptions o = read_optimizer_options(c.root().sub("optimizer"));
  c.check_unknown_keys();
  return o;
}

}  // namespace

TEST(Optimizer, ParamGroupsByRegexFirstMatchWins) {
  Net net;
  OptimizerOptions o = parse_optimizer(R"(
optimizer:
  type: adamw
  lr: 1.0e-4
  weight_decay: 1.0e-4
  param_groups:
    - {pattern: '^backbone\.', lr: 1.0e-5}
    - {pattern: 'bias$', lr_mult: 2.0, weight_decay: 0.0}
    - {pattern: 'nothing_matches'}
)");
  Optimizer opt(net, o);
  ASSERT_EQ(opt.groups().size(), 3u);  // the empty group is dropped
  EXPECT_EQ(opt.groups()[0].param_names, std::vector<std::string>{"head.weight"});
  EXPECT_EQ(opt.groups()[1].param_names, (std::vector<std::string>{"backbone.weight", "backbone.bias"}));
  EXPECT_EQ(opt.groups()[2].param_names, std::vector<std::string>{"head.bias"});
  EXPECT_EQ(opt.named_params().size(), 4u);  // the frozen parameter is not optimised
  EXPECT_DOUBLE_EQ(opt.lr(0), 1e-4);
  EXPECT_DOUBLE_EQ(opt.lr(1), 1e-5);
  EXPECT_DOUBLE_EQ(opt.lr(2), 2e-4);
  EXPECT_DOUBLE_EQ(opt.groups()[2].weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(opt.groups()[1].weight_decay, 1e-4);
  opt.set_lr_factor(0.5);
  EXPECT_DOUBLE_EQ(opt.lr(0), 0.5e-4);
  EXPECT_DOUBLE_EQ(opt.lr(1), 0.5e-5);
  EXPECT_DOUBLE_EQ(opt.lr(2), 1e-4);
}

TEST(Optimizer, ConfigErrors) {
  EXPECT_THROW(parse_optimizer("optimizer: {type: adam}"), ConfigError);
  EXPECT_THROW(parse_optimizer("optimizer: {param_groups: [{pattern: 'a', lr: 1, lr_mult: 2}]}"), ConfigError);
  EXPECT_THROW(parse_optimizer("optimizer: {param_groups: [{pattern: '('}]}"), ConfigError);
  EXPECT_THROW(parse_optimizer("optimizer: {accumulate_steps: 0}"), ConfigError);
  try {
    parse_optimizer("optimizer: {clip_grad_nrom: 0.1}");
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("clip_grad_norm"), std::string::npos) << e.what();
  }
}

TEST(Optimizer, ClipGradNormMatchesHandComputation) {
  Net net;
  OptimizerOptions o;
  o.type = "sgd";
  Optimizer opt(net, o);
  // grads: backbone.weight all 1 (4 values), backbone.bias [2, 2], head.weight [0, 0], head.bias [4]
  net.backbone->weight.mutable_grad() = torch::ones({2, 2});
  net.backbone->bias.mutable_grad() = torch::full({2}, 2.0);
  net.head->weight.mutable_grad() = torch::zeros({1, 2});
  net.head->bias.mutable_grad() = torch::full({1}, 4.0);
  const double norm = std::sqrt(4 * 1.0 + 2 * 4.0 + 16.0);  // sqrt(28)
  double got = opt.clip_grad_norm(1.0);
  EXPECT_NEAR(got, norm, 1e-6);
  const double coef = 1.0 / (norm + 1e-6);
  EXPECT_NEAR(net.head->bias.grad().item<double>(), 4.0 * coef, 1e-6);
  EXPECT_NEAR(net.backbone->weight.grad()[0][0].item<double>(), coef, 1e-6);
  // the total norm is now 1
  double after = opt.clip_grad_norm(10.0);
  EXPECT_NEAR(after, 1.0, 1e-5);
  EXPECT_NEAR(net.head->bias.grad().item<double>(), 4.0 * coef, 1e-6);  // under the limit: untouched
}

TEST(Optimizer, StateDictByNameRoundTrip) {
  torch::manual_seed(0);
  Net a;
  Optimizer oa(a, OptimizerOptions{});
  for (int i = 0; i < 2; ++i) {
    oa.zero_grad();
    (a.head(a.backbone(torch::ones({3, 2}))).sum()).backward();
    oa.step();
  }
  auto sd = oa.state_dict();
  Net b;
  Optimizer ob(b, OptimizerOptions{});
  ob.load_state_dict(sd);
  auto s2 = ob.state_dict().toGenericDict().at("state").toGenericDict();
  auto s1 = sd.toGenericDict().at("state").toGenericDict();
  ASSERT_EQ(s1.size(), 4u);
  for (const auto& kv : s1) {
    auto x = kv.value().toGenericDict(), y = s2.at(kv.key()).toGenericDict();
    EXPECT_TRUE(torch::equal(x.at("exp_avg").toTensor(), y.at("exp_avg").toTensor())) << kv.key().toStringRef();
    EXPECT_EQ(y.at("step").toTensor().item<int64_t>(), 2);
  }
  OptimizerOptions sgd;
  sgd.type = "sgd";
  Optimizer oc(b, sgd);
  EXPECT_THROW(oc.load_state_dict(sd), RuntimeError);
}

TEST(LrSchedule, StepMultistepCosineAndWarmup) {
  LrScheduleOptions o;
  o.type = "step";
  o.step_size = 2;
  o.gamma = 0.1;
  LrSchedule step(o, 6, 60);
  const double want_step[] = {1, 1, 0.1, 0.1, 0.01, 0.01};
  for (int e = 0; e < 6; ++e) EXPECT_NEAR(step.factor(e, e * 10 + 5), want_step[e], 1e-12) << e;

  o.type = "multistep";
  o.milestones = {2, 5};
  LrSchedule ms(o, 6, 60);
  const double want_ms[] = {1, 1, 0.1, 0.1, 0.1, 0.01};
  for (int e = 0; e < 6; ++e) EXPECT_NEAR(ms.factor(e, 0 + 100), want_ms[e], 1e-12) << e;

  o.type = "cosine";
  o.by = "iter";
  o.min_lr_ratio = 0.1;
  LrSchedule cos(o, 1, 10);
  for (int i = 0; i <= 10; ++i)
    EXPECT_NEAR(cos.factor(0, i), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * i / 10.0)), 1e-12) << i;
  EXPECT_NEAR(cos.factor(0, 15), 0.1, 1e-12);  // past the end: stays at the minimum

  o.type = "constant";
  o.warmup_iters = 4;
  o.warmup_factor = 0.25;
  LrSchedule warm(o, 1, 10);
  const double want_warm[] = {0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(warm.factor(0, i), want_warm[i], 1e-12) << i;

  o.type = "step";
  o.by = "epoch";
  o.step_size = 1;
  o.gamma = 0.5;
  LrSchedule both(o, 3, 30);  // warm-up multiplies the epoch schedule
  EXPECT_NEAR(both.factor(1, 2), 0.5 * 0.625, 1e-12);
}

TEST(LrSchedule, ConfigDefaultsAndErrors) {
  Config c = Config::from_string("lr_schedule: {type: multistep, milestones: [3, 8]}");
  LrScheduleOptions o = read_lr_schedule_options(c.root().sub("lr_schedule"));
  EXPECT_EQ(o.by, "epoch");
  EXPECT_EQ(o.milestones, (std::vector<int64_t>{3, 8}));
  Config bad = Config::from_string("lr_schedule: {type: multistep, milestones: [8, 3]}");
  EXPECT_THROW(read_lr_schedule_options(bad.root().sub("lr_schedule")), ConfigError);
  Config bad2 = Config::from_string("lr_schedule: {type: poly}");
  EXPECT_THROW(read_lr_schedule_options(bad2.root().sub("lr_schedule")), ConfigError);
}

// The fused AdamW step (train/fused_adamw.h) against torch::optim::AdamW on a
// copy: two groups with their own lr and weight decay, a parameter large
// enough to be split across threads, a non-contiguous parameter (the
// tensor-op route), a parameter without gradient on some steps, and an lr
// change between steps.
TEST(Optimizer, FusedAdamWMatchesTorchAdamW) {
  struct Wide : torch::nn::Module {
    Wide() {
      big = register_parameter("backbone_big", torch::randn({400, 300}));
      small = register_parameter("head_small", torch::randn({7}));
      strided = register_parameter("head_strided", torch::randn({6, 5}).t());
    }
    torch::Tensor big, small, strided;
  };
  torch::manual_seed(4);
  Wide net;
  ASSERT_FALSE(net.strided.is_contiguous());
  OptimizerOptions o = parse_optimizer(R"(
optimizer:
  type: adamw
  lr: 1.0e-2
  weight_decay: 0.05
  betas: [0.8, 0.99]
  param_groups:
    - {pattern: '^backbone_', lr: 3.0e-3, weight_decay: 0.1}
)");
  Optimizer ours(net, o);
  std::vector<torch::Tensor> copies;
  for (const auto& [n, p] : ours.named_params()) copies.push_back(p.detach().clone().requires_grad_(true));
  // named_params order: backbone_big, head_small, head_strided; groups: base {small, strided}, backbone {big}
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{copies[1], copies[2]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(1e-2).betas({0.8, 0.99}).weight_decay(0.05)));
  groups.emplace_back(std::vector<torch::Tensor>{copies[0]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(3e-3).betas({0.8, 0.99}).weight_decay(0.1)));
  torch::optim::AdamW theirs(groups, torch::optim::AdamWOptions(1e-2));
  for (int step = 0; step < 6; ++step) {
    if (step == 3) {
      ours.set_lr_factor(0.5);
      for (size_t g = 0; g < 2; ++g)
        theirs.param_groups()[g].options().set_lr(theirs.param_groups()[g].options().get_lr() * 0.5);
    }
    size_t k = 0;
    for (const auto& [n, p] : ours.named_params()) {
      auto& c = copies[k++];
      if (n == "head_small" && step % 2 == 1) {  // no gradient this step
        p.mutable_grad() = torch::Tensor();
        c.mutable_grad() = torch::Tensor();
        continue;
      }
      auto g = torch::randn_like(p);
      p.mutable_grad() = g;
      c.mutable_grad() = g.clone();
    }
    ours.step();
    theirs.step();
  }
  size_t k = 0;
  for (const auto& [n, p] : ours.named_params()) {
    EXPECT_TRUE(torch::allclose(p, copies[k], 1e-5, 1e-6)) << n << " max diff " << (p - copies[k]).abs().max();
    ++k;
  }
  auto state = ours.state_dict().toGenericDict().at("state").toGenericDict();
  EXPECT_EQ(state.at("backbone_big").toGenericDict().at("step").toTensor().item<int64_t>(), 6);
  EXPECT_EQ(state.at("head_small").toGenericDict().at("step").toTensor().item<int64_t>(), 3);
}

}  // namespace seer_test_test_optimizer
