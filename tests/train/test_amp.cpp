// Mixed precision: runtime.amp config checks, the autocast guard (bf16 matmuls
// on the CPU), the fp16 gradient scaler's skip / backoff / growth logic and its
// checkpoint state, and a few bf16 training steps of a tiny DETR.
#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>

#include <cmath>

#include "core/error.h"
#include "train/amp.h"
#include "train/model_io.h"
#include "train_fixture.h"
namespace seer_test_test_amp {

using namespace seer;
using namespace seer::test;

namespace {

std::string error_of(const std::string& dir, const std::vector<std::string>& overrides) {
  try {
    resolve_config(write_config(dir), overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(AmpConfig, Fp16OnCpuAndBadValuesAreConfigErrors) {
  std::string dir = temp_dir("amp_cfg");
  EXPECT_EQ(resolve_config(write_config(dir), {}).runtime.amp, "off");
  EXPECT_EQ(resolve_config(write_config(dir), {"runtime.amp=bf16"}).runtime.amp, "bf16");
  std::string e = error_of(dir, {"runtime.amp=fp16"});
  EXPECT_NE(e.find("runtime.amp"), std::string::npos) << e;
  EXPECT_NE(e.find("bf16"), std::string::npos) << e;
  EXPECT_NE(error_of(dir, {"runtime.amp=fp32"}).find("runtime.amp"), std::string::npos);
  EXPECT_THROW(AutocastGuard(AmpMode::FP16, torch::kCPU), ConfigError);
}

TEST(DeviceConfig, CudaOnACpuBuildIsAConfigErrorNamingTheKey) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible";
  std::string dir = temp_dir("amp_dev");
  for (const char* dev : {"runtime.device=cuda", "runtime.device=cuda:1"}) {
    std::string e = error_of(dir, {dev});
    EXPECT_NE(e.find("runtime.device"), std::string::npos) << e;
    EXPECT_NE(e.find("CUDA"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_NE(error_of(dir, {"runtime.device=gpu"}).find("runtime.device"), std::string::npos);
}

TEST(Autocast, Bf16GuardRunsLinearInBf16AndRestores) {
  torch::manual_seed(0);
  torch::nn::Linear fc(8, 4);
  auto x = torch::randn({2, 8});
  EXPECT_EQ(fc(x).scalar_type(), torch::kFloat32);
  {
    AutocastGuard outer(AmpMode::BF16, torch::kCPU);
    auto y = fc(x);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::allclose(y.to(torch::kFloat32), fc(x).to(torch::kFloat32)));
    {
      AutocastGuard off(AmpMode::Off, torch::kCPU);  // a no-op, autocast stays on
      EXPECT_EQ(fc(x).scalar_type(), torch::kBFloat16);
    }
    {
      AutocastGuard nested(AmpMode::BF16, torch::kCPU);
      EXPECT_EQ(fc(x).scalar_type(), torch::kBFloat16);
    }
    EXPECT_TRUE(at::autocast::is_cpu_enabled());  // the nested guard restored "on"
    EXPECT_EQ(torch::mm(x, x.t()).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(fc(x).scalar_type(), torch::kFloat32);
}

TEST(GradScaler, UnscalesSkipsOnInfBacksOffAndGrows) {
  GradScalerOptions o;
  o.growth_interval = 3;
  GradScaler s(o);
  EXPECT_EQ(s.current_scale(), 65536.0);
  auto w = torch::tensor({1.0f, 2.0f}, torch::requires_grad());
  auto x = torch::tensor({3.0f, -4.0f});
  s.scale((w * x).sum()).backward();
  EXPECT_TRUE(torch::equal(w.grad(), x * 65536.0f));
  EXPECT_TRUE(s.unscale({w}));
  EXPECT_TRUE(torch::equal(w.grad(), x));  // true gradient (powers of two: exact)
  s.update(false);
  EXPECT_EQ(s.growth_tracker(), 1);

  w.mutable_grad().fill_(std::numeric_limits<float>::infinity());
  EXPECT_FALSE(s.unscale({w}));  // inf -> the step must be skipped
  s.update(true);
  EXPECT_EQ(s.current_scale(), 32768.0);
  EXPECT_EQ(s.growth_tracker(), 0);
  EXPECT_EQ(s.skipped_steps(), 1);
  w.mutable_grad().fill_(std::numeric_limits<float>::quiet_NaN());
  EXPECT_FALSE(s.unscale({w}));
  s.update(true);
  EXPECT_EQ(s.current_scale(), 16384.0);

  for (int i = 0; i < 2; ++i) s.update(false);
  EXPECT_EQ(s.current_scale(), 16384.0);
  s.update(false);  // third clean step in a row
  EXPECT_EQ(s.current_scale(), 32768.0);
  EXPECT_EQ(s.growth_tracker(), 0);
  s.update(false);

  GradScaler restored;
  restored.load_state_dict(s.state_dict());
  EXPECT_EQ(restored.current_scale(), 32768.0);
  EXPECT_EQ(restored.growth_tracker(), 1);
  EXPECT_EQ(restored.skipped_steps(), 2);
  auto d = s.state_dict().toGenericDict();
  EXPECT_EQ(d.at("growth_interval").toInt(), 3);
  EXPECT_THROW(restored.load_state_dict(c10::IValue(3)), DataError);
}

// With a skipped step the optimizer must not move; a scaled toy model trained
// with SGD ends where the unscaled one does.
TEST(GradScaler, ScaledSgdEqualsUnscaledAndSkipLeavesWeights) {
  torch::manual_seed(1);
  torch::nn::Linear a(3, 1), b(3, 1);
  {
    torch::NoGradGuard ng;
    b->weight.copy_(a->weight);
    b->bias.copy_(a->bias);
  }
  torch::optim::SGD oa(a->parameters(), 0.1), ob(b->parameters(), 0.1);
  GradScaler scaler;
  auto x = torch::randn({4, 3}), y = torch::randn({4, 1});
  for (int step = 0; step < 3; ++step) {
    oa.zero_grad();
    ob.zero_grad();
    (a(x) - y).pow(2).mean().backward();
    oa.step();
    scaler.scale((b(x) - y).pow(2).mean()).backward();
    const bool ok = scaler.unscale(b->parameters());
    ASSERT_TRUE(ok);
    ob.step();
    scaler.update(!ok);
  }
  EXPECT_TRUE(torch::allclose(a->weight, b->weight, 1e-6, 1e-7));
  auto before = b->weight.clone();
  ob.zero_grad();
  scaler.scale((b(x) - y).pow(2).mean() * std::numeric_limits<float>::infinity()).backward();
  const bool ok = scaler.unscale(b->parameters());
  EXPECT_FALSE(ok);
  if (ok) ob.step();
  scaler.update(!ok);
  EXPECT_TRUE(torch::equal(b->weight, before));
  EXPECT_EQ(scaler.current_scale(), 32768.0);
}

// A few bf16 steps of a tiny DETR: losses are float32 and finite, and the
// weights move.
TEST(Autocast, TinyDetrTrainsInBf16) {
  std::string dir = temp_dir("amp_detr");
  ResolvedConfig r = resolve_config(source_path("tests/cli/detr_tiny.yaml"),
                                    {"runtime.amp=bf16", "data.num_workers=0", "train.eval_interval=0",
                                     "schedule.max_iters=3", "data.train.dataset.num_images=6"});
  RunDir run = open_run_dir(r.config, dir, "bf16");
  auto train = std::make_shared<Loader>(r.data.train->build_dataset(), r.data.train->transforms, r.data.train->loader);
  torch::manual_seed(0);
  auto model = build_model(r, train->dataset().categories());
  auto before = module_state_dict(*model)["class_embed.weight"].clone();
  Trainer t(trainer_options(r), model, run, train, nullptr, train->dataset().categories());
  int64_t steps = 0;
  t.on_iteration = [&](int64_t, const LossDict& l) {
    ++steps;
    for (const auto& item : l) {
      EXPECT_EQ(item.value().scalar_type(), torch::kFloat32) << item.key();
      EXPECT_TRUE(std::isfinite(item.value().item<double>())) << item.key();
    }
  };
  t.fit();
  EXPECT_EQ(steps, 3);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_FALSE(torch::equal(before, module_state_dict(*model)["class_embed.weight"]));
}

}  // namespace seer_test_test_amp
