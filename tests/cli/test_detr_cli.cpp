// seer train / eval / predict / export on a tiny DETR, end to end through the
// binary: the run folder, the outputs, the exported files, and the errors a
// user meets (missing or corrupt weights, another family, a shape mismatch).
#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
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

TEST(DetrCli, EvalPrintsCocoMetrics) {
  const auto& t = tiny();
  std::string out = t.dir + "/metrics.json";
  CliResult r = run("eval " + config() + " --weights " + t.ckpt + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"), std::string::npos)
      << r.out;
  std::ifstream f(out);
  auto j = nlohmann::json::parse(f);
  EXPECT_TRUE(j.contains("bbox/AP50"));
  EXPECT_GE(j["bbox/AP"].get<double>(), 0.0);
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
