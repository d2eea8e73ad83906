#pragma once
// Tiny fake models and a synthetic-data config for the trainer tests.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/model.h"
#include "cli/resolve.h"
#include "train/run_dir.h"
#include "train/trainer.h"
#include "test_util.h"

namespace seer::test {

// Global average pool over the valid (unpadded) pixels -> linear -> one box per
// image as normalised (x1, y1, x2, y2); L1 loss (mean) to the first target box.
// Optional dropout on the pooled features (randomness for the resume test).
class BoxModel : public Model {
 public:
  explicit BoxModel(double dropout = 0.0, bool sigmoid = true) : dropout_(dropout), sigmoid_(sigmoid) {
    fc = register_module("fc", torch::nn::Linear(3, 4));
  }
  torch::Tensor boxes(const Batch& b) {
    auto valid = (~b.pad_mask).unsqueeze(1).to(torch::kFloat32);  // [B,1,H,W]
    auto feat = (b.images * valid).sum({2, 3}) / valid.sum({2, 3});  // [B,3]
    if (dropout_ > 0) feat = torch::dropout(feat, dropout_, is_training());
    auto out = fc(feat);  // [B,4]
    return sigmoid_ ? out.sigmoid() : out;
  }
  torch::Tensor normalised_targets(const Batch& b) {
    std::vector<torch::Tensor> t;
    for (const auto& tg : b.targets) {
      auto scale = torch::tensor({(float)tg.size[1], (float)tg.size[0], (float)tg.size[1], (float)tg.size[0]});
      t.push_back(tg.num_boxes() > 0 ? tg.boxes[0] / scale : torch::zeros({4}));
    }
    return torch::stack(t);  // [B,4]
  }
  LossDict loss(const Batch& b) override {
    LossDict d;
    auto l1 = (boxes(b) - normalised_targets(b)).abs().mean();
    if (nan_at_call > 0 && ++calls == nan_at_call) l1 = l1 * std::numeric_limits<float>::quiet_NaN();
    d.insert("loss_l1", l1);
    d.insert("log/box_mean", boxes(b).detach().mean());
    return d;
  }
  std::vector<Prediction> predict(const Batch& b) override {
    auto bx = boxes(b);
    if (perfect) bx = normalised_targets(b);
    std::vector<Prediction> out;
    for (int64_t i = 0; i < b.size(); ++i) {
      const auto& tg = b.targets[i];
      auto scale = torch::tensor({(float)tg.orig_size[1], (float)tg.orig_size[0], (float)tg.orig_size[1], (float)tg.orig_size[0]});
      Prediction p;
      p.boxes = (bx[i] * scale).unsqueeze(0);
      p.scores = torch::ones({1});
      p.labels = perfect && tg.num_boxes() > 0 ? tg.labels.slice(0, 0, 1).clone() : torch::zeros({1}, torch::kInt64);
      p.image_id = tg.image_id;
      out.push_back(p);
    }
    return out;
  }
  std::vector<torch::Tensor> forward_tensors(const std::vector<torch::Tensor>& in) override { return {fc(in[0])}; }
  std::vector<std::string> export_input_names() const override { return {"features"}; }
  std::vector<std::string> export_output_names() const override { return {"boxes"}; }
  std::vector<torch::Tensor> example_inputs(int64_t, int64_t) const override { return {torch::zeros({1, 3})}; }
  std::string family() const override { return family_name; }

  torch::nn::Linear fc{nullptr};
  bool perfect = false;   // predict() returns the first target box with its label
  int64_t nan_at_call = 0;  // loss() returns NaN at this call (1-based; 0 = never)
  int64_t calls = 0;
  std::string family_name = "fake_box";

 private:
  double dropout_;
  bool sigmoid_;
};

// A config over tiny synthetic images (8 train images, 4 val with one object each).
inline std::string write_config(const std::string& dir, const std::string& extra = "") {
  std::string path = dir + "/fake.yaml";
  std::ofstream(path) << R"(
runtime: {seed: 7, deterministic: true}
schedule: {epochs: 2}
data:
  batch_size: 2
  num_workers: 0
  train:
    dataset: {type: synthetic, num_images: 8, min_size: 32, max_size: 48, min_objects: 1, max_objects: 2}
    transforms: [{type: random_horizontal_flip, p: 0.5}, {type: normalize}]
  val:
    dataset: {type: synthetic, num_images: 4, min_size: 32, max_size: 48, min_objects: 1, max_objects: 1}
    transforms: [{type: normalize}]
optimizer: {type: adamw, lr: 0.01}
lr_schedule: {type: constant}
train: {log_interval: 1, vis_images: 2}
)" << extra;
  return path;
}

struct TrainSetup {
  ResolvedConfig r;
  RunDir run;
  std::shared_ptr<Loader> train, val;
};

inline TrainSetup make_setup(const std::string& dir, const std::vector<std::string>& overrides, const std::string& run_name = "run") {
  ResolvedConfig r = resolve_config(write_config(dir), overrides);
  RunDir run = open_run_dir(r.config, dir, run_name);
  auto train = std::make_shared<Loader>(r.data.train->build_dataset(), r.data.train->transforms, r.data.train->loader);
  auto val = std::make_shared<Loader>(r.data.val->build_dataset(), r.data.val->transforms, r.data.val->loader);
  return {r, run, train, val};
}

inline std::unique_ptr<Trainer> make_trainer(const TrainSetup& s, std::shared_ptr<Model> model) {
  return std::make_unique<Trainer>(trainer_options(s.r), model, s.run, s.train, s.val, s.val->dataset().categories());
}

// Runs `t` to the end (from the checkpoint `resume` when given) and returns
// loss_l1 by iteration.
inline std::map<int64_t, double> fit_recording_l1(Trainer& t, const std::string& resume = "") {
  std::map<int64_t, double> losses;
  t.on_iteration = [&](int64_t it, const LossDict& l) { losses[it] = l["loss_l1"].item<double>(); };
  t.fit(resume);
  t.on_iteration = nullptr;
  return losses;
}

// Runs `t` until a simulated crash (a std::runtime_error) thrown after iteration `at`.
inline void fit_crashing_after(Trainer& t, int64_t at) {
  t.on_iteration = [at](int64_t it, const LossDict&) {
    if (it == at) throw std::runtime_error("simulated crash");
  };
  EXPECT_THROW(t.fit(), std::runtime_error);
  t.on_iteration = nullptr;
}

// The resumed run ran exactly iterations 7 and 8, with the uninterrupted run's
// losses, and ended with its weights.
inline void expect_resume_matches(const std::map<int64_t, double>& full, const std::map<int64_t, double>& resumed,
                                  BoxModel& full_model, BoxModel& resumed_model) {
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_EQ(resumed.at(7), full.at(7));
  EXPECT_EQ(resumed.at(8), full.at(8));
  EXPECT_TRUE(torch::equal(resumed_model.fc->weight, full_model.fc->weight));
}

}  // namespace seer::test
