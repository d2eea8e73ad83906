// The training loop with tiny fake models on synthetic images: accumulation,
// exact resume, checkpoints, metrics files, plots, vis, best.pt, NaN losses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "train/checkpointer.h"
#include "train/evaluation.h"
#include "train/metrics_log.h"
#include "train_fixture.h"
namespace seer_test_test_trainer {

using namespace seer;
using namespace seer::test;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<BoxModel> new_model(uint64_t seed, double dropout = 0.0, bool sigmoid = true) {
  torch::manual_seed(seed);
  return std::make_shared<BoxModel>(dropout, sigmoid);
}

std::string read_text(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

}  // namespace

// 2 iterations of batch 1 with accumulate_steps 2 == 1 iteration of batch 2.
TEST(Trainer, GradientAccumulationEqualsLargerBatch) {
  std::string dir = temp_dir("train_acc");
  auto sa = make_setup(dir, {"data.batch_size=1", "optimizer.accumulate_steps=2", "schedule.max_iters=2",
                             "optimizer.type=sgd", "optimizer.lr=0.5", "optimizer.momentum=0"}, "a");
  auto sb = make_setup(dir, {"data.batch_size=2", "schedule.max_iters=1", "optimizer.type=sgd", "optimizer.lr=0.5",
                             "optimizer.momentum=0"}, "b");
  // the same two samples in both runs
  auto pa = sa.train->epoch_plan(0), pb = sb.train->epoch_plan(0);
  ASSERT_EQ(pa[0][0], pb[0][0]);
  ASSERT_EQ(pa[1][0], pb[0][1]);
  auto ma = new_model(3, 0.0, /*sigmoid=*/false), mb = new_model(3, 0.0, false);
  ASSERT_TRUE(torch::equal(ma->fc->weight, mb->fc->weight));
  auto before = ma->fc->weight.clone();
  auto ta = std::make_unique<Trainer>(trainer_options(sa.r), ma, sa.run, sa.train, nullptr, sa.train->dataset().categories());
  ta->fit();
  make_trainer(sb, mb)->fit();
  EXPECT_FALSE(torch::allclose(ma->fc->weight, before));
  EXPECT_TRUE(torch::allclose(ma->fc->weight, mb->fc->weight, 0, 1e-6)) << ma->fc->weight << mb->fc->weight;
  EXPECT_TRUE(torch::allclose(ma->fc->bias, mb->fc->bias, 0, 1e-6));
}

class ExactResume : public ::testing::TestWithParam<int> {};

// A run interrupted after a mid-epoch checkpoint continues with the very same
// losses and ends with the very same weights as an uninterrupted one.
TEST_P(ExactResume, LossSequenceEqualsUninterruptedRun) {
  const std::string workers = "data.num_workers=" + std::to_string(GetParam());
  std::string dir = temp_dir("train_resume_" + std::to_string(GetParam()));
  std::map<int64_t, double> full, resumed;

  auto s1 = make_setup(dir, {workers, "train.eval_interval=0"}, "full");
  auto m1 = new_model(1, /*dropout=*/0.5);
  auto t1 = make_trainer(s1, m1);
  full = fit_recording_l1(*t1);
  ASSERT_EQ(full.size(), 8u);  // 2 epochs x 4 batches

  auto s2 = make_setup(dir, {workers, "train.eval_interval=0", "train.checkpoint_every_iters=3"}, "crash");
  auto t2 = make_trainer(s2, new_model(1, 0.5));
  fit_crashing_after(*t2, 7);
  Checkpoint c = read_checkpoint(s2.run.checkpoints() + "/last.pt");
  EXPECT_EQ(c.state.iter, 6);
  EXPECT_EQ(c.state.epoch, 1);
  EXPECT_EQ(c.state.batches_done_in_epoch, 2);

  auto s3 = make_setup(dir, {workers, "train.eval_interval=0", "train.checkpoint_every_iters=3"}, "crash");
  auto m3 = new_model(99, 0.5);  // different init: the weights must come from the checkpoint
  torch::manual_seed(12345);     // and the RNG from it too
  auto t3 = make_trainer(s3, m3);
  resumed = fit_recording_l1(*t3, s2.run.checkpoints() + "/last.pt");
  expect_resume_matches(full, resumed, *m1, *m3);
  EXPECT_EQ(t3->state().iter, 8);
  EXPECT_EQ(t3->state().epoch, 2);
  // the resumed run's metrics.jsonl reads as one run: iterations 1..8 once each
  auto lines = read_metrics_jsonl(s3.run.metrics_jsonl());
  std::vector<int64_t> iters;
  for (const auto& j : lines)
    if (j.contains("loss")) iters.push_back(j["iter"].get<int64_t>());
  EXPECT_EQ(iters, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));

  // raising schedule.epochs extends a finished run
  auto s4 = make_setup(dir, {workers, "train.eval_interval=0", "schedule.epochs=3"}, "crash");
  auto t4 = make_trainer(s4, new_model(5, 0.5));
  int64_t first = 0;
  t4->on_iteration = [&](int64_t it, const LossDict&) { if (!first) first = it; };
  t4->fit(s3.run.checkpoints() + "/last.pt");
  EXPECT_EQ(first, 9);
  EXPECT_EQ(t4->state().iter, 12);
}

INSTANTIATE_TEST_SUITE_P(Workers, ExactResume, ::testing::Values(0, 1));

TEST(Trainer, RunFolderFilesAfterTwoEpochs) {
  std::string dir = temp_dir("train_files");
  auto s = make_setup(dir, {"train.log_interval=3", "train.keep_last=1", "train.best_metric=bbox/AP50"});
  auto m = new_model(2);
  auto t = make_trainer(s, m);
  t->fit();
  // metrics.jsonl: training lines at iterations 3, 4 (epoch end), 6, 8 and an evaluation line per epoch
  auto lines = read_metrics_jsonl(s.run.metrics_jsonl());
  std::vector<int64_t> train_iters;
  int evals = 0;
  for (const auto& j : lines) {
    if (j.contains("loss")) {
      train_iters.push_back(j["iter"].get<int64_t>());
      for (const char* k : {"epoch", "lr", "loss_l1", "log/box_mean", "time", "data_time"}) EXPECT_TRUE(j.contains(k)) << k;
      EXPECT_DOUBLE_EQ(j["lr"].get<double>(), 0.01);
      EXPECT_DOUBLE_EQ(j["loss"].get<double>(), j["loss_l1"].get<double>());  // log/ terms are not summed
    } else {
      ++evals;
      EXPECT_TRUE(j.contains("bbox/AP50"));
      EXPECT_EQ(j["iter"].get<int64_t>(), 4 * j["epoch"].get<int64_t>());
    }
  }
  EXPECT_EQ(train_iters, (std::vector<int64_t>{3, 4, 6, 8}));
  EXPECT_EQ(evals, 2);
  // results.csv: header + one row per epoch
  std::string csv = read_text(s.run.results_csv());
  EXPECT_EQ(csv.rfind("epoch,train/loss,train/loss_l1,train/log/box_mean,lr,bbox/AP,bbox/AP50", 0), 0u) << csv;
  EXPECT_NE(csv.find("\n1,"), std::string::npos);
  EXPECT_NE(csv.find("\n2,"), std::string::npos);
  EXPECT_EQ(csv.find("/AP-"), std::string::npos);  // per-class APs stay in metrics.jsonl
  // plots, vis, checkpoints
  for (const char* p : {"loss.png", "lr.png", "metrics.png"}) {
    cv::Mat img = cv::imread(s.run.plots() + "/" + p);
    ASSERT_FALSE(img.empty()) << p;
    EXPECT_GT(cv::countNonZero(img.reshape(1) != 255), 1000) << p;  // something is drawn
  }
  EXPECT_TRUE(fs::exists(s.run.vis() + "/epoch_2_0.jpg"));
  EXPECT_TRUE(fs::exists(s.run.vis() + "/epoch_2_1.jpg"));
  EXPECT_FALSE(fs::exists(s.run.vis() + "/epoch_2_2.jpg"));
  EXPECT_TRUE(fs::exists(s.run.checkpoints() + "/last.pt"));
  EXPECT_TRUE(fs::exists(s.run.checkpoints() + "/best.pt"));
  EXPECT_TRUE(fs::exists(s.run.checkpoints() + "/epoch_2.pt"));
  EXPECT_FALSE(fs::exists(s.run.checkpoints() + "/epoch_1.pt"));  // keep_last: 1
}

TEST(Trainer, BestCheckpointFollowsTheMetric) {
  std::string dir = temp_dir("train_best");
  auto s = make_setup(dir, {"schedule.epochs=3", "train.checkpoint_interval=0", "train.vis_images=0"});
  auto m = new_model(4);
  auto t = make_trainer(s, m);
  // predictions are perfect only during the evaluation after epoch 2
  t->on_iteration = [&](int64_t it, const LossDict&) { m->perfect = (it > 4 && it <= 8); };
  std::vector<double> ap50;
  t->fit();
  for (const auto& j : read_metrics_jsonl(s.run.metrics_jsonl()))
    if (j.contains("bbox/AP50")) ap50.push_back(j["bbox/AP50"].get<double>());
  ASSERT_EQ(ap50.size(), 3u);
  EXPECT_DOUBLE_EQ(ap50[1], 1.0);
  EXPECT_LT(ap50[2], 1.0);
  Checkpoint best = read_checkpoint(s.run.checkpoints() + "/best.pt");
  EXPECT_EQ(best.state.epoch, 2);
  EXPECT_DOUBLE_EQ(*best.state.best_metric_value, 1.0);
  Checkpoint last = read_checkpoint(s.run.checkpoints() + "/last.pt");
  EXPECT_EQ(last.state.epoch, 3);
  EXPECT_DOUBLE_EQ(*last.state.best_metric_value, 1.0);
  EXPECT_FALSE(fs::exists(s.run.checkpoints() + "/epoch_3.pt"));
}

TEST(Trainer, NonFiniteLossNamesIterationAndTerms) {
  std::string dir = temp_dir("train_nan");
  auto s = make_setup(dir, {});
  auto m = new_model(5);
  m->nan_at_call = 3;
  try {
    make_trainer(s, m)->fit();
    FAIL() << "NaN loss accepted";
  } catch (const RuntimeError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("iteration 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("loss_l1=nan"), std::string::npos) << msg;
  }
}

TEST(Checkpoint, RoundTripReadableByPickleLoadAndWeightsReader) {
  std::string dir = temp_dir("train_ckpt");
  auto s = make_setup(dir, {"schedule.max_iters=3", "train.eval_interval=0"});
  auto m = new_model(6);
  make_trainer(s, m)->fit();
  const std::string path = s.run.checkpoints() + "/last.pt";
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto top = torch::pickle_load(bytes).toGenericDict();
  for (const char* k : {"model", "optimizer", "meta", "rng", "config"}) EXPECT_TRUE(top.contains(k)) << k;
  auto model = top.at("model").toGenericDict();
  ASSERT_EQ(model.size(), 2u);
  EXPECT_TRUE(torch::equal(model.at("fc.weight").toTensor(), m->fc->weight));
  auto meta = top.at("meta").toGenericDict();
  EXPECT_EQ(meta.at("family").toStringRef(), "fake_box");
  EXPECT_EQ(meta.at("iter").toInt(), 3);
  EXPECT_EQ(meta.at("epoch").toInt(), 0);
  EXPECT_EQ(meta.at("batches_done_in_epoch").toInt(), 3);
  auto state = top.at("optimizer").toGenericDict().at("state").toGenericDict();
  EXPECT_EQ(state.at("fc.bias").toGenericDict().at("step").toTensor().item<int64_t>(), 3);
  EXPECT_NE(top.at("config").toStringRef().find("optimizer:"), std::string::npos);

  // restore into a fresh model; a model of another family is refused
  Checkpoint c = read_checkpoint(path);
  auto fresh = new_model(77);
  restore_model(*fresh, c);
  EXPECT_TRUE(torch::equal(fresh->fc->weight, m->fc->weight));
  auto other = new_model(77);
  other->family_name = "detr";
  EXPECT_THROW(restore_model(*other, c), RuntimeError);
  // `--weights` reads the model entry and the family
  WeightsFile w = read_weights(path);
  EXPECT_EQ(w.nested_key, "model");
  EXPECT_EQ(w.tensors.size(), 2u);
  EXPECT_EQ(w.metadata["family"], "fake_box");
  // not a checkpoint
  std::ofstream(dir + "/junk.pt") << "junk";
  EXPECT_THROW(read_checkpoint(dir + "/junk.pt"), DataError);
  EXPECT_THROW(read_checkpoint(dir + "/missing.pt"), DataError);
}

TEST(Evaluation, RunEvaluationPerfectModelAndModeRestored) {
  std::string dir = temp_dir("train_eval");
  auto s = make_setup(dir, {});
  auto m = new_model(8);
  m->perfect = true;
  m->train();
  auto ev = s.r.evaluation.make(s.val->dataset().categories());
  int64_t seen = 0;
  auto metrics = run_evaluation(*m, *s.val, *ev, torch::kCPU, [&](const Batch& b, const std::vector<Prediction>& p) {
    EXPECT_FALSE(m->is_training());
    EXPECT_FALSE(torch::GradMode::is_enabled());
    seen += static_cast<int64_t>(p.size());
  });
  EXPECT_EQ(seen, 4);
  EXPECT_TRUE(m->is_training());
  auto it = std::find_if(metrics.begin(), metrics.end(), [](const auto& kv) { return kv.first == "bbox/AP50"; });
  ASSERT_NE(it, metrics.end());
  EXPECT_DOUBLE_EQ(it->second, 1.0);
}

TEST(TrainConfig, SectionsAreDeclaredAndStrict) {
  std::string dir = temp_dir("train_cfg");
  ResolvedConfig r = resolve_config(write_config(dir), {"train.best_metric=bbox/AP", "evaluation.type=coco_segm"});
  EXPECT_EQ(r.train.best_metric, "bbox/AP");
  EXPECT_EQ(r.evaluation.type, "coco_segm");
  EXPECT_EQ(r.train.keep_last, 3);
  EXPECT_EQ(r.lr_schedule.type, "constant");
  try {
    resolve_config(write_config(dir), {"train.eval_intreval=2"});
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("eval_interval"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_config(write_config(dir), {"lr_schedule.by=batch"}), ConfigError);
  EXPECT_THROW(resolve_config(write_config(dir), {"train.keep_last=-1"}), ConfigError);
  EXPECT_THROW(resolve_config(write_config(dir), {"evaluation.type=voc"}), ConfigError);
}

}  // namespace seer_test_test_trainer
