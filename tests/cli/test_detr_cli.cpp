// seer train / eval / predict / export on a tiny DETR, end to end through the
// binary: the run folder, the outputs, the exported files, and the errors a
// user meets (missing or corrupt weights, another family, a shape mismatch).
#include <gtest/gtest.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "core/error.h"
#include "data/dataset.h"
#include "test_util.h"
#include "train/model_io.h"
#include "cli/resolve.h"
namespace seer_test_test_detr_cli {

namespace fs = std::filesystem;
using seer::test::CliResult;

namespace {

CliResult run(const std::string& args) { return seer::test::run_seer(args); }
std::string config() { return seer::test::source_path("tests/cli/detr_tiny.yaml"); }
int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// One trained run shared by the tests of this file (training is the slow part).
struct TinyRun {
  std::string dir, ckpt;
  TinyRun() {
    dir = seer::test::temp_dir("detr_cli");
    CliResult r = run("train " + config() + " --work-dir " + dir + "/run");
    EXPECT_EQ(r.code, 0) << r.out;
    ckpt = dir + "/run/checkpoints/last.pt";
  }
};
const TinyRun& tiny() {
  static TinyRun run;
  return run;
}

}  // namespace

TEST(DetrCli, TrainWritesTheRunFolder) {
  const auto& t = tiny();
  for (const char* f : {"config.yaml", "log.txt", "metrics.jsonl", "results.csv", "checkpoints/last.pt",
                        "checkpoints/best.pt", "plots/loss.png"})
    EXPECT_TRUE(fs::exists(t.dir + "/run/" + f)) << f;
  EXPECT_FALSE(fs::is_empty(t.dir + "/run/vis"));
  std::ifstream m(t.dir + "/run/metrics.jsonl");
  std::string line;
  int iters = 0, evals = 0;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) {
      ++iters;
      for (const char* k : {"iter", "epoch", "lr", "loss_ce", "loss_bbox", "loss_giou", "time", "data_time"})
        EXPECT_TRUE(j.contains(k)) << k << " in " << line;
    }
    if (j.contains("bbox/AP50")) ++evals;
  }
  EXPECT_EQ(iters, 3);
  EXPECT_EQ(evals, 1);
}

TEST(DetrCli, ResumeContinuesAnExtendedSchedule) {
  const auto& t = tiny();
  std::string dir = seer::test::temp_dir("detr_cli_resume");
  fs::copy(t.dir + "/run", dir + "/run", fs::copy_options::recursive);
  CliResult r = run("train " + config() + " --work-dir " + dir + "/run --resume --set schedule.max_iters=4");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream m(dir + "/run/metrics.jsonl");
  std::string line, last;
  while (std::getline(m, line))
    if (line.find("\"loss\"") != std::string::npos) last = line;
  EXPECT_EQ(nlohmann::json::parse(last)["iter"], 4) << last;
  EXPECT_EQ(run("train " + config() + " --work-dir " + dir + "/none --resume").code, 2);
}

// `seer eval` on the run's last checkpoint reproduces the trainer's own final
// evaluation of the same weights on the same val split, metric for metric.
TEST(DetrCli, EvalMatchesTheTrainersLastEvaluation) {
  const auto& t = tiny();
  std::string out = t.dir + "/metrics.json";
  CliResult r = run("eval " + config() + " --weights " + t.ckpt + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"), std::string::npos)
      << r.out;
  std::ifstream f(out);
  auto j = nlohmann::json::parse(f);

  nlohmann::json trained;  // the last evaluation line of metrics.jsonl
  std::ifstream m(t.dir + "/run/metrics.jsonl");
  for (std::string line; std::getline(m, line);)
    if (line.find("bbox/AP50") != std::string::npos) trained = nlohmann::json::parse(line);
  ASSERT_FALSE(trained.is_null()) << "no evaluation in metrics.jsonl";

  int compared = 0;
  for (const char* k : {"bbox/AP", "bbox/AP50", "bbox/AP75", "bbox/APs", "bbox/APm", "bbox/APl", "bbox/AR1", "bbox/AR10",
                        "bbox/AR100", "bbox/ARs", "bbox/ARm", "bbox/ARl"}) {
    if (!trained.contains(k)) continue;
    ASSERT_TRUE(j.contains(k)) << k << " in " << j.dump();
    const double a = j[k].get<double>(), b = trained[k].get<double>();
    EXPECT_GE(a, -1.0) << k;  // -1: pycocotools' "no ground truth in this area"
    EXPECT_LE(a, 1.0) << k;
    EXPECT_NEAR(a, b, 1e-9) << k << ": seer eval " << a << " vs the trainer's " << b;
    ++compared;
  }
  EXPECT_EQ(compared, 12) << trained.dump();
}

// A known value: weights set by hand so that every query predicts the one
// ground-truth box of the only val image with its class. `seer eval` must then
// report AP = AP50 = AR100 = 1 (each query's box equals the object's, the first
// is the true positive and the duplicates rank after it), which a wrong resize,
// box conversion or category mapping anywhere on the path would spoil.
TEST(DetrCli, EvalOfExactPredictionsIsPerfect) {
  const auto& t = tiny();
  const std::vector<std::string> one_object{"data.val.dataset.num_images=1", "data.val.dataset.min_objects=1",
                                            "data.val.dataset.max_objects=1"};
  seer::ResolvedConfig rc = seer::resolve_config(config(), one_object);
  const seer::Sample sample = rc.data.val->build_dataset()->get(0);
  ASSERT_EQ(sample.target.boxes.size(0), 1);
  const auto box = sample.target.boxes[0];  // xyxy, pixels
  const double w = sample.image.cols, h = sample.image.rows;
  const double x1 = box[0].item<double>(), y1 = box[1].item<double>(), x2 = box[2].item<double>(),
               y2 = box[3].item<double>();
  const int64_t label = sample.target.labels[0].item<int64_t>();
  ASSERT_GT(x2 - x1, 1.0);
  ASSERT_GT(y2 - y1, 1.0);

  auto sd = seer::read_weights(t.ckpt, "model").tensors;
  ASSERT_TRUE(sd.contains("bbox_embed.layers.2.bias"));
  ASSERT_TRUE(sd.contains("class_embed.bias"));
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  // the box head's last layer outputs a constant: the normalised cxcywh of the object
  sd["bbox_embed.layers.2.weight"] = torch::zeros_like(sd["bbox_embed.layers.2.weight"]);
  sd["bbox_embed.layers.2.bias"] = torch::tensor({logit((x1 + x2) / 2 / w), logit((y1 + y2) / 2 / h),
                                                  logit((x2 - x1) / w), logit((y2 - y1) / h)}, torch::kFloat);
  // the class head: the object's class, confidently
  sd["class_embed.weight"] = torch::zeros_like(sd["class_embed.weight"]);
  auto bias = torch::zeros_like(sd["class_embed.bias"]);
  bias[label] = 10.0;
  sd["class_embed.bias"] = bias;
  const std::string weights = t.dir + "/exact.safetensors";
  seer::write_safetensors(weights, sd);

  std::string args = "eval " + config() + " --weights " + weights + " --out " + t.dir + "/exact_metrics.json";
  for (const auto& kv : one_object) args += " --set " + kv;
  CliResult r = run(args);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream f(t.dir + "/exact_metrics.json");
  auto j = nlohmann::json::parse(f);
  for (const char* k : {"bbox/AP", "bbox/AP50", "bbox/AP75", "bbox/AR1", "bbox/AR100"}) {
    ASSERT_TRUE(j.contains(k)) << k << " in " << j.dump();
    EXPECT_NEAR(j[k].get<double>(), 1.0, 1e-9) << k << " in " << j.dump();
  }
  // and with the class head pointing at another class, nothing is found
  auto wrong = torch::zeros_like(sd["class_embed.bias"]);
  wrong[(label + 1) % 3] = 10.0;
  sd["class_embed.bias"] = wrong;
  seer::write_safetensors(weights, sd);
  r = run(args);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream g(t.dir + "/exact_metrics.json");
  j = nlohmann::json::parse(g);
  EXPECT_NEAR(j["bbox/AP"].get<double>(), 0.0, 1e-12) << j.dump();
  EXPECT_NEAR(j["bbox/AR100"].get<double>(), 0.0, 1e-12) << j.dump();
}

TEST(DetrCli, PredictWritesOriginalPixelDetectionsAndDrawings) {
  const auto& t = tiny();
  std::string img = t.dir + "/images";
  ASSERT_EQ(run("browse-data " + config() + " --split val --num 1 --raw --out " + img).code, 0);
  std::string out = t.dir + "/preds.json";
  CliResult r = run("predict " + config() + " --weights " + t.ckpt + " --image " + img +
                    "/sample_0.jpg --out " + out + " --vis " + t.dir + "/vis --set predict.score_threshold=0");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream f(out);
  auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["boxes"].size(), 5u);  // every query with threshold 0
  EXPECT_EQ(j[0]["scores"].size(), 5u);
  EXPECT_EQ(j[0]["label_names"].size(), 5u);
  for (const auto& b : j[0]["boxes"]) {
    EXPECT_GE(b[2].get<double>(), b[0].get<double>());
    EXPECT_LE(b[2].get<double>(), 64.0 + 1e-3);  // the 64x64 original image
  }
  for (size_t k = 1; k < j[0]["scores"].size(); ++k) EXPECT_LE(j[0]["scores"][k], j[0]["scores"][k - 1]);
  EXPECT_TRUE(fs::exists(t.dir + "/vis/sample_0.jpg"));

  // an unreadable image: one line, exit 1, the readable one still written
  std::ofstream(t.dir + "/broken.jpg") << "not a jpeg";
  CliResult bad = run("predict " + config() + " --weights " + t.ckpt + " --image " + t.dir + "/broken.jpg " + img +
                      "/sample_0.jpg --out " + t.dir + "/preds2.json");
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("broken.jpg"), std::string::npos) << bad.out;
  std::ifstream f2(t.dir + "/preds2.json");
  EXPECT_EQ(nlohmann::json::parse(f2).size(), 1u);
}

namespace {

nlohmann::json predict_json(const TinyRun& t, const std::string& image, const std::string& name,
                            const std::string& sets) {
  const std::string out = t.dir + "/" + name + ".json";
  CliResult r = run("predict " + config() + " --weights " + t.ckpt + " --image " + image + " --out " + out + " " + sets);
  EXPECT_EQ(r.code, 0) << r.out;
  std::ifstream f(out);
  auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j.size(), 1u);
  return j.at(0);
}

// Detection k of `a` equals detection k of `b` (boxes, score, label fields).
void expect_same_detection(const nlohmann::json& a, const nlohmann::json& b, size_t k) {
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(a["boxes"][k][c].get<double>(), b["boxes"][k][c].get<double>(), 1e-5) << k;
  EXPECT_NEAR(a["scores"][k].get<double>(), b["scores"][k].get<double>(), 1e-7) << k;
  EXPECT_EQ(a["labels"][k], b["labels"][k]) << k;
  EXPECT_EQ(a["label_names"][k], b["label_names"][k]) << k;
  EXPECT_EQ(a["category_ids"][k], b["category_ids"][k]) << k;
}

}  // namespace

// predict.score_threshold keeps exactly the detections scoring at least it,
// predict.max_detections keeps the best N, and every detection carries its
// contiguous label, that label's class name and the dataset's category id.
TEST(DetrCli, PredictThresholdCapAndLabelFields) {
  const auto& t = tiny();
  const std::string img_dir = t.dir + "/images_opts";
  ASSERT_EQ(run("browse-data " + config() + " --split val --num 1 --raw --out " + img_dir).code, 0);
  const std::string img = img_dir + "/sample_0.jpg";

  const auto all = predict_json(t, img, "pred_all", "--set predict.score_threshold=0");
  const size_t n = all["scores"].size();
  ASSERT_EQ(n, 5u);  // every query
  for (const char* k : {"boxes", "labels", "label_names", "category_ids"}) ASSERT_EQ(all[k].size(), n) << k;
  // labels are contiguous indices into data.val's classes; the synthetic
  // dataset's category ids are index + 1 (data/synthetic.cpp)
  const std::vector<std::string> classes{"circle", "square", "triangle"};
  for (size_t k = 0; k < n; ++k) {
    ASSERT_TRUE(all["labels"][k].is_number_integer()) << all.dump();
    const int64_t label = all["labels"][k].get<int64_t>();
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 3);
    EXPECT_EQ(all["label_names"][k].get<std::string>(), classes[label]);
    EXPECT_EQ(all["category_ids"][k].get<int64_t>(), label + 1);
  }

  // a threshold between two distinct scores keeps exactly the ones above it
  size_t cut = 0;
  while (cut + 1 < n && all["scores"][cut].get<double>() - all["scores"][cut + 1].get<double>() < 1e-4) ++cut;
  ASSERT_LT(cut + 1, n) << "all scores equal: " << all["scores"].dump();
  const double thr = (all["scores"][cut].get<double>() + all["scores"][cut + 1].get<double>()) / 2;
  const auto kept = predict_json(t, img, "pred_thr", "--set predict.score_threshold=" + std::to_string(thr));
  ASSERT_EQ(kept["scores"].size(), cut + 1) << "threshold " << thr << " on " << all["scores"].dump();
  for (const char* k : {"boxes", "labels", "label_names", "category_ids"}) EXPECT_EQ(kept[k].size(), cut + 1) << k;
  for (size_t k = 0; k <= cut; ++k) {
    EXPECT_GE(kept["scores"][k].get<double>(), thr);
    expect_same_detection(kept, all, k);
  }
  // above the best score nothing is left
  const auto none = predict_json(
      t, img, "pred_none", "--set predict.score_threshold=" + std::to_string(all["scores"][0].get<double>() + 1e-3));
  EXPECT_EQ(none["boxes"].size(), 0u) << none.dump();
  EXPECT_EQ(none["labels"].size(), 0u) << none.dump();

  // max_detections: the best two of all
  const auto capped = predict_json(t, img, "pred_cap", "--set predict.score_threshold=0 --set predict.max_detections=2");
  ASSERT_EQ(capped["scores"].size(), 2u) << capped.dump();
  for (size_t k = 0; k < 2; ++k) expect_same_detection(capped, all, k);
  CliResult bad = run("predict " + config() + " --weights " + t.ckpt + " --image " + img +
                      " --set predict.max_detections=0");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("predict.max_detections: must be >= 1"), std::string::npos) << bad.out;
}

// Fine-tuning on another class count with model.strict_load=false: the class
// head keeps the new model's fresh initialisation, every other tensor comes
// from the checkpoint, and the load lists the mismatched head.
TEST(DetrCli, MismatchedHeadsAreReinitialised) {
  const auto& t = tiny();
  const std::vector<std::string> two_classes{"data.train.dataset.classes=[circle,square]",
                                             "data.val.dataset.classes=[circle,square]"};
  seer::ResolvedConfig rc = seer::resolve_config(config(), two_classes);
  auto build = [&] {
    torch::manual_seed(123);
    return seer::build_model(rc, seer::config_categories(rc));
  };
  auto fresh = build();  // what a new 2-class model starts from
  auto model = build();
  const auto fresh_sd = seer::module_state_dict(*fresh);
  const auto ckpt = seer::read_weights(t.ckpt, "model").tensors;

  // strict loading refuses it, naming the head
  try {
    seer::load_model_weights(*model, t.ckpt, true);
    ADD_FAILURE() << "strict load of a 3-class checkpoint into a 2-class model succeeded";
  } catch (const seer::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("class_embed.weight"), std::string::npos) << e.what();
  }
  const seer::LoadReport rep = seer::load_model_weights(*model, t.ckpt, false);
  std::set<std::string> mismatched;
  for (const auto& m : rep.mismatched) mismatched.insert(m.name);
  EXPECT_EQ(mismatched, (std::set<std::string>{"class_embed.weight", "class_embed.bias"})) << rep.summary();
  EXPECT_TRUE(rep.missing.empty()) << rep.summary();
  EXPECT_TRUE(rep.unexpected.empty()) << rep.summary();

  const auto sd = seer::module_state_dict(*model);
  ASSERT_EQ(sd.size(), ckpt.size());
  int from_ckpt = 0;
  for (const auto& item : sd) {
    const std::string& key = item.key();
    if (mismatched.count(key)) {
      EXPECT_EQ(item.value().size(0), 3) << key << ": 2 classes + no-object";
      EXPECT_NE(ckpt[key].size(0), item.value().size(0)) << key;
      EXPECT_TRUE(torch::equal(item.value(), fresh_sd[key])) << key << " is not the fresh initialisation";
    } else {
      ASSERT_TRUE(ckpt.contains(key)) << key;
      EXPECT_TRUE(torch::equal(item.value(), ckpt[key])) << key << " was not loaded from the checkpoint";
      ++from_ckpt;
    }
  }
  EXPECT_EQ(from_ckpt, static_cast<int>(sd.size()) - 2);
  // the loaded tensors really changed the fresh model (the test would pass on a no-op otherwise)
  EXPECT_FALSE(torch::equal(sd["query_embed.weight"], fresh_sd["query_embed.weight"]));

  // the same through `seer train --set model.weights=...`: trains, and says what it left out
  std::string args = "train " + config() + " --work-dir " + t.dir + "/finetune --set schedule.max_iters=1" +
                     " --set train.eval_interval=0 --set model.weights=" + t.ckpt + " --set model.strict_load=false";
  for (const auto& kv : two_classes) args += " --set " + kv;
  CliResult r = run(args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("shape-mismatched 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("class_embed.weight"), std::string::npos) << r.out;
  const CliResult strict = run("train " + config() + " --work-dir " + t.dir + "/finetune_strict" +
                               " --set model.weights=" + t.ckpt + " --set " + two_classes[0] + " --set " + two_classes[1]);
  EXPECT_EQ(strict.code, 1) << strict.out;
  EXPECT_NE(strict.out.find("set model.strict_load=false"), std::string::npos) << strict.out;
}

TEST(DetrCli, ExportedFilesReloadWithTheSameOutputs) {
  const auto& t = tiny();
  for (const char* fmt : {"safetensors", "pth", "torchscript"}) {
    CliResult r = run("export " + config() + " --weights " + t.ckpt + " --format " + fmt + " --out " + t.dir +
                      "/model." + fmt + " --image-size 64x64");
    ASSERT_EQ(r.code, 0) << fmt << ": " << r.out;
  }
  // the model as the CLI builds it, with the trained weights
  seer::ResolvedConfig rc = seer::resolve_config(config(), {});
  auto model = seer::build_model(rc, seer::config_categories(rc));
  seer::load_model_weights(*model, t.ckpt, true);
  model->eval();
  torch::NoGradGuard no_grad;
  auto inputs = model->example_inputs(64, 64);
  inputs[0] = torch::randn({1, 3, 64, 64});
  auto expected = model->forward_tensors(inputs);

  // safetensors and pth hold exactly the checkpoint's tensors
  auto ckpt = seer::read_weights(t.ckpt, "model").tensors;
  for (const char* fmt : {"safetensors", "pth"}) {
    auto w = seer::read_weights(t.dir + "/model." + fmt).tensors;
    ASSERT_EQ(w.size(), ckpt.size()) << fmt;
    for (const auto& item : ckpt) EXPECT_TRUE(torch::equal(w[item.key()], item.value())) << fmt << " " << item.key();
  }
  // TorchScript runs with the model's outputs
  auto ts = torch::jit::load(t.dir + "/model.torchscript");
  auto out = ts.forward({inputs[0], inputs[1]}).toTuple();
  ASSERT_EQ(out->elements().size(), 2u);
  EXPECT_TRUE(torch::allclose(out->elements()[0].toTensor(), expected[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(out->elements()[1].toTensor(), expected[1], 1e-5, 1e-5));
}

TEST(DetrCli, BadWeightsAreOneLineErrors) {
  const auto& t = tiny();
  auto one_line = [](const CliResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.code, code) << r.out;
    EXPECT_EQ(lines(r.out.substr(r.out.find("seer: error:"))), 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  };
  // nowhere
  one_line(run("eval " + config() + " --weights " + t.dir + "/missing.pt"), 2, "missing.pt");
  // corrupt: a truncated checkpoint
  {
    std::ifstream in(t.ckpt, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(t.dir + "/truncated.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  one_line(run("eval " + config() + " --weights " + t.dir + "/truncated.pt"), 1, "truncated.pt");
  // another family's checkpoint
  seer::write_safetensors(t.dir + "/other.safetensors", seer::read_weights(t.ckpt, "model").tensors,
                          {{"family", "yolo_world"}});
  one_line(run("eval " + config() + " --weights " + t.dir + "/other.safetensors"), 1, "'yolo_world' checkpoint");
  // a shape mismatch under strict loading, then accepted with strict_load=false
  one_line(run("eval " + config() + " --weights " + t.ckpt + " --set model.num_queries=7"), 1, "query_embed.weight");
  CliResult loose = run("eval " + config() + " --weights " + t.ckpt + " --set model.num_queries=7 --set model.strict_load=false");
  EXPECT_EQ(loose.code, 0) << loose.out;
  EXPECT_NE(loose.out.find("shape-mismatched 1"), std::string::npos) << loose.out;
}

}  // namespace seer_test_test_detr_cli
