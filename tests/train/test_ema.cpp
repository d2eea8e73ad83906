// The weight EMA: the warm-up decay against a hand-computed sequence, swapping
// in and out, evaluation with the averaged weights, the checkpoint's "ema" entry
// (preferred by --weights) and an exact resume.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/checkpoint.h"
#include "core/error.h"
#include "train/ema.h"
#include "train/model_io.h"
#include "train_fixture.h"
namespace seer_test_test_ema {

using namespace seer;
using namespace seer::test;

namespace {

// One parameter, one float buffer, one integer buffer.
struct Tiny : torch::nn::Module {
  Tiny() {
    w = register_parameter("w", torch::zeros({2}));
    stat = register_buffer("stat", torch::zeros({1}));
    count = register_buffer("count", torch::zeros({}, torch::kLong));
  }
  torch::Tensor w, stat, count;
};

void set(Tiny& m, float w, float stat, int64_t count) {
  torch::NoGradGuard ng;
  m.w.fill_(w);
  m.stat.fill_(stat);
  m.count.fill_(count);
}

// predict() records the weights it saw.
class RecordingModel : public BoxModel {
 public:
  using BoxModel::BoxModel;
  std::vector<Prediction> predict(const Batch& b) override {
    seen = fc->weight.detach().clone();
    return BoxModel::predict(b);
  }
  torch::Tensor seen;
};

}  // namespace

TEST(ModelEma, WarmUpDecayMatchesHandComputedSequence) {
  Tiny m;
  set(m, 1.0f, 10.0f, 0);
  EmaOptions o;
  o.decay = 0.9;
  o.tau = 2.0;
  ModelEma ema(m, o);  // starts as a copy: w 1, stat 10
  double w = 1.0, stat = 10.0;
  const float ws[] = {2.0f, 4.0f, -1.0f, 0.5f}, stats[] = {20.0f, 0.0f, 5.0f, 7.0f};
  for (int t = 1; t <= 4; ++t) {
    const double d = 0.9 * (1.0 - std::exp(-t / 2.0));
    EXPECT_NEAR(ema.next_decay(), d, 1e-15);
    set(m, ws[t - 1], stats[t - 1], t * 10);
    ema.update(m);
    w = d * w + (1 - d) * ws[t - 1];
    stat = d * stat + (1 - d) * stats[t - 1];
    EXPECT_NEAR(ema.tensors()["w"][0].item<double>(), w, 1e-6) << "update " << t;
    EXPECT_NEAR(ema.tensors()["stat"][0].item<double>(), stat, 1e-5) << "update " << t;  // float buffers averaged
    EXPECT_EQ(ema.tensors()["count"].item<int64_t>(), t * 10);                            // integer buffers copied
  }
  EXPECT_EQ(ema.updates(), 4);
  // by hand: d_t = 0.354122, 0.568909, 0.699183, 0.778198; w_t = 1.645878, 2.660720, 1.559512, 1.324511
  EXPECT_NEAR(ema.tensors()["w"][1].item<double>(), 1.324511, 1e-6);

  // swap in and back out
  auto model_w = m.w.clone();
  ema.swap_into(m);
  EXPECT_NEAR(m.w[0].item<double>(), w, 1e-6);
  EXPECT_TRUE(torch::equal(ema.tensors()["w"], model_w));
  ema.swap_into(m);
  EXPECT_TRUE(torch::equal(m.w, model_w));

  // state round trip; a mismatched dict is refused
  Tiny other;
  ModelEma again(other, o);
  again.load_state_dict(ema.state_dict(), ema.updates(), "test");
  EXPECT_TRUE(torch::equal(again.tensors()["w"], ema.tensors()["w"]));
  EXPECT_EQ(again.next_decay(), ema.next_decay());
  auto bad = ema.state_dict();
  bad.insert_or_assign("w", torch::zeros({3}));
  EXPECT_THROW(again.load_state_dict(bad, 1, "test"), RuntimeError);
}

TEST(EmaConfig, KeysAndRanges) {
  std::string dir = temp_dir("ema_cfg");
  auto r = resolve_config(write_config(dir), {});
  EXPECT_FALSE(r.train.ema.enabled);
  r = resolve_config(write_config(dir), {"train.ema.enabled=true", "train.ema.decay=0.99", "train.ema.tau=10"});
  EXPECT_TRUE(r.train.ema.enabled);
  EXPECT_EQ(r.train.ema.decay, 0.99);
  EXPECT_EQ(r.train.ema.tau, 10);
  EXPECT_THROW(resolve_config(write_config(dir), {"train.ema.decay=1.5"}), ConfigError);
  EXPECT_THROW(resolve_config(write_config(dir), {"train.ema.tau=0"}), ConfigError);
  EXPECT_THROW(resolve_config(write_config(dir), {"train.ema.decy=0.5"}), ConfigError);
}

// Evaluation sees the averaged weights; afterwards the model holds its own again.
// The checkpoint carries the average under "ema", which --weights prefers.
TEST(Trainer, EmaIsEvaluatedSavedAndPreferredByWeights) {
  std::string dir = temp_dir("ema_eval");
  auto s = make_setup(dir, {"schedule.epochs=1", "train.ema.enabled=true", "train.ema.decay=0.9", "train.ema.tau=1"});
  torch::manual_seed(4);
  auto m = std::make_shared<RecordingModel>();
  auto t = make_trainer(s, m);
  t->fit();
  ASSERT_NE(t->ema(), nullptr);
  EXPECT_EQ(t->ema()->updates(), 4);
  ASSERT_TRUE(m->seen.defined());
  const auto& avg = t->ema()->tensors()["fc.weight"];
  EXPECT_TRUE(torch::equal(m->seen, avg));
  EXPECT_FALSE(torch::allclose(m->fc->weight, avg));  // the model's own weights are back

  const std::string last = s.run.checkpoints() + "/last.pt";
  Checkpoint c = read_checkpoint(last);
  ASSERT_TRUE(c.dict.contains("ema"));
  EXPECT_EQ(c.dict.at("ema_updates").toInt(), 4);
  WeightsFile f = read_weights(last, "ema");
  EXPECT_EQ(f.nested_key, "ema");
  EXPECT_TRUE(torch::equal(f.tensors["fc.weight"], avg));
  auto fresh = std::make_shared<BoxModel>();
  load_model_weights(*fresh, last, /*strict=*/true);
  EXPECT_TRUE(torch::equal(fresh->fc->weight, avg));
  restore_model(*fresh, c);  // resume still restores the trained weights
  EXPECT_TRUE(torch::equal(fresh->fc->weight, m->fc->weight));
}

// A run interrupted after a mid-epoch checkpoint continues with the very same
// losses and ends with the very same model AND average.
TEST(Trainer, EmaExactResume) {
  std::string dir = temp_dir("ema_resume");
  const std::vector<std::string> ema = {"train.eval_interval=0", "train.ema.enabled=true", "train.ema.decay=0.9",
                                        "train.ema.tau=3"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), ema.begin(), ema.end());
    return extra;
  };
  std::map<int64_t, double> full, resumed;
  auto s1 = make_setup(dir, with({"data.num_workers=0"}), "full");
  torch::manual_seed(1);
  auto m1 = std::make_shared<BoxModel>(0.5);
  auto t1 = make_trainer(s1, m1);
  full = fit_recording_l1(*t1);
  ASSERT_EQ(full.size(), 8u);

  auto s2 = make_setup(dir, with({"data.num_workers=0", "train.checkpoint_every_iters=3"}), "crash");
  torch::manual_seed(1);
  auto t2 = make_trainer(s2, std::make_shared<BoxModel>(0.5));
  fit_crashing_after(*t2, 7);

  auto s3 = make_setup(dir, with({"data.num_workers=0", "train.checkpoint_every_iters=3"}), "crash");
  torch::manual_seed(99);
  auto m3 = std::make_shared<BoxModel>(0.5);
  auto t3 = make_trainer(s3, m3);
  resumed = fit_recording_l1(*t3, s2.run.checkpoints() + "/last.pt");
  expect_resume_matches(full, resumed, *m1, *m3);
  EXPECT_EQ(t3->ema()->updates(), t1->ema()->updates());
  for (const auto& item : t1->ema()->tensors())
    EXPECT_TRUE(torch::equal(item.value(), t3->ema()->tensors()[item.key()])) << item.key();
  EXPECT_FALSE(torch::equal(t1->ema()->tensors()["fc.weight"], m1->fc->weight));
}

}  // namespace seer_test_test_ema
