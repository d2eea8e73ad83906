// eval / export (and predict) with a seer checkpoint alone: the config and the
// class table travel in the checkpoint; official weights name a table with
// data.categories when the dataset is not on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <opencv2/imgcodecs.hpp>

#include "cli/resolve.h"
#include "core/checkpoint.h"
#include "data/categories.h"
#include "test_util.h"
namespace seer_test_test_inference_cli {

namespace fs = std::filesystem;
using seer::test::CliResult;

namespace {

CliResult run(const std::string& args) { return seer::test::run_seer(args); }
std::string config() { return seer::test::source_path("tests/cli/detr_tiny.yaml"); }

struct Run {
  std::string dir, ckpt;
  Run() {
    dir = seer::test::temp_dir("inference_cli");
    // trained with a --set that changes the model: a config file alone would not load these weights
    CliResult r = run("train " + config() + " --work-dir " + dir + "/run --set model.num_queries=7");
    EXPECT_EQ(r.code, 0) << r.out;
    ckpt = dir + "/run/checkpoints/last.pt";
  }
};
const Run& trained() {
  static Run r;
  return r;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

TEST(InferenceCli, CheckpointCarriesConfigAndCategories) {
  const auto& t = trained();
  auto w = seer::read_weights(t.ckpt);
  ASSERT_TRUE(w.categories.has_value());
  EXPECT_EQ(w.categories->names, (std::vector<std::string>{"circle", "square", "triangle"}));
  EXPECT_NE(w.config_yaml.find("num_queries: 7"), std::string::npos);
}

TEST(InferenceCli, EvalAndExportWithTheCheckpointAlone) {
  const auto& t = trained();
  // the config file without the training --set does not fit the weights
  CliResult mismatch = run("export " + config() + " --weights " + t.ckpt + " --format pth --out " + t.dir + "/x.pth");
  EXPECT_NE(mismatch.code, 0) << mismatch.out;
  // the stored config does
  CliResult e1 = run("eval --weights " + t.ckpt + " --out " + t.dir + "/m1.json");
  ASSERT_EQ(e1.code, 0) << e1.out;
  CliResult e2 = run("eval " + config() + " --weights " + t.ckpt + " --set model.num_queries=7 --out " + t.dir +
                     "/m2.json");
  ASSERT_EQ(e2.code, 0) << e2.out;
  EXPECT_EQ(read_json(t.dir + "/m1.json"), read_json(t.dir + "/m2.json"));

  CliResult x = run("export --weights " + t.ckpt + " --format safetensors --out " + t.dir + "/m.safetensors");
  ASSERT_EQ(x.code, 0) << x.out;
  auto st = seer::read_weights(t.dir + "/m.safetensors");
  ASSERT_TRUE(st.categories.has_value());
  EXPECT_EQ(st.categories->names, (std::vector<std::string>{"circle", "square", "triangle"}));
  EXPECT_EQ(st.tensors["query_embed.weight"].size(0), 7);
}

TEST(InferenceCli, WeightsWithoutAConfigNeedOne) {
  const auto& t = trained();
  ASSERT_EQ(run("export --weights " + t.ckpt + " --format pth --out " + t.dir + "/plain.pth").code, 0);
  CliResult r = run("eval --weights " + t.dir + "/plain.pth");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("CONFIG is needed"), std::string::npos) << r.out;
  EXPECT_EQ(run("export --weights " + t.dir + "/none.pt --format pth --out x.pth").code, 2);
}

// detr_tiny.yaml with its val split on a COCO dataset that is not on disk.
std::string config_without_dataset(const std::string& dir) {
  std::ifstream in(config());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string base = "../../configs/_base_/runtime/default.yaml";
  text.replace(text.find(base), base.size(), seer::test::source_path("configs/_base_/runtime/default.yaml"));
  const std::string val = "  val:\n    dataset: {type: synthetic";
  const size_t at = text.find(val);
  const size_t start = at + std::string("  val:\n").size(), end = text.find('\n', start);
  text.replace(start, end - start,
               "    dataset: {type: coco, ann_file: " + dir + "/no/instances.json, img_dir: " + dir + "/no/images}");
  std::ofstream(dir + "/no_dataset.yaml") << text;
  return dir + "/no_dataset.yaml";
}

TEST(InferenceCli, DataCategoriesStandInForAMissingDataset) {
  const auto& t = trained();
  ASSERT_EQ(run("export --weights " + t.ckpt + " --format pth --out " + t.dir + "/plain.pth").code, 0);
  std::ofstream(t.dir + "/shapes.names") << "circle\nsquare\ntriangle\n";
  const std::string cfg = config_without_dataset(t.dir) + " --set model.num_queries=7";
  // without a table the missing dataset is what fails
  CliResult no_table =
      run("export " + cfg + " --weights " + t.dir + "/plain.pth --format safetensors --out " + t.dir + "/a.safetensors");
  EXPECT_NE(no_table.code, 0) << no_table.out;
  EXPECT_NE(no_table.out.find("instances.json"), std::string::npos) << no_table.out;
  CliResult r = run("export " + cfg + " --weights " + t.dir + "/plain.pth --format safetensors --out " + t.dir +
                    "/b.safetensors --set data.categories=" + t.dir + "/shapes.names");
  ASSERT_EQ(r.code, 0) << r.out;
  auto st = seer::read_weights(t.dir + "/b.safetensors");
  ASSERT_TRUE(st.categories.has_value());
  EXPECT_EQ(st.categories->names, (std::vector<std::string>{"circle", "square", "triangle"}));
}

// The new user: official COCO weights and a COCO config, no COCO on disk.
TEST(InferenceCli, PredictWithAnOfficialCheckpointNeedsNoDataset) {
  const std::string dir = seer::test::temp_dir("inference_cli_official");
  const std::string cfg = seer::test::source_path("configs/detr/detr_r50_coco.yaml");
  {
    // random weights under the official names, as a .pth without a config or class table
    seer::ResolvedConfig rc = seer::resolve_config(cfg, {"data.root=" + dir + "/no_coco"});
    auto model = seer::build_model(rc, seer::coco_categories());
    seer::write_pth(dir + "/detr_r50.pth", seer::module_state_dict(*model));
  }
  cv::imwrite(dir + "/x.jpg", cv::Mat(48, 64, CV_8UC3, cv::Scalar(40, 120, 200)));
  CliResult r = run("predict " + cfg + " --weights " + dir + "/detr_r50.pth --image " + dir + "/x.jpg --out " + dir +
                    "/p.json --set data.root=" + dir + "/no_coco --set predict.score_threshold=0 " +
                    "--set predict.max_detections=5");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = read_json(dir + "/p.json");
  ASSERT_EQ(j.size(), 1u);
  ASSERT_EQ(j[0]["labels"].size(), 5u);
  const auto coco = seer::coco_categories();
  for (size_t k = 0; k < 5; ++k) {
    const int64_t label = j[0]["labels"][k];
    ASSERT_GE(label, 0);
    ASSERT_LT(label, coco.size());
    EXPECT_EQ(j[0]["label_names"][k], coco.names[label]);
    EXPECT_EQ(j[0]["category_ids"][k], coco.ids[label]);
  }
}

TEST(InferenceCli, BestMetricMustBeTheEvaluators) {
  CliResult r = run("config " + config() + " --set train.best_metric=bbox/AP5O");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("did you mean 'bbox/AP50'"), std::string::npos) << r.out;
  EXPECT_EQ(run("config " + config() + " --set train.best_metric=auto").code, 0);
  EXPECT_EQ(run("config " + config() + " --set train.best_metric=bbox/AP-circle").code, 0);  // per-class AP
  EXPECT_EQ(run("config " + config() + " --set evaluation.type=coco_segm --set train.best_metric=bbox/AP").code, 0);
}

}  // namespace

}  // namespace seer_test_test_inference_cli
