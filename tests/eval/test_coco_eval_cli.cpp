// `seer coco-eval` end to end: summary, --out json, exit codes and messages.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>

#include "test_util.h"
namespace seer_test_test_coco_eval_cli {

using nlohmann::json;

namespace {

using seer::test::run_seer;

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(CocoEvalCli, BboxSummaryAndStatsFile) {
  SEER_REQUIRE_DATA(gt, "coco_eval/instances_val2014_100.json");
  SEER_REQUIRE_DATA(stats, "coco_eval/expected_stats.json");
  SEER_REQUIRE_DATA(bbox_dt, "coco_eval/instances_val2014_fakebbox100_results.json");
  SEER_REQUIRE_DATA(segm_dt, "coco_eval/instances_val2014_fakesegm100_results.json");
  json expected = json::parse(std::ifstream(stats));
  const std::string dir = seer::test::temp_dir("coco_eval_cli");
  for (std::string type : {"bbox", "segm"}) {
    const std::string out = dir + "/" + type + ".json";
    seer::test::CliResult r = run_seer("coco-eval --gt " + gt + " --dt " +
                     (type == "bbox" ? bbox_dt : segm_dt) +
                     " --iou-type " + type + " --out " + out);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = "),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = "),
              std::string::npos)
        << r.out;
    json j = json::parse(std::ifstream(out));
    ASSERT_EQ(j["stats"].size(), 12u);
    for (int i = 0; i < 12; ++i) EXPECT_NEAR(j["stats"][i].get<double>(), expected[type][i].get<double>(), 1e-9);
    EXPECT_TRUE(j["per_category"].contains("person")) << j["per_category"].dump();
  }
}

TEST(CocoEvalCli, BadInputFailsWithOneLine) {
  SEER_REQUIRE_DATA(gt, "coco_eval/instances_val2014_100.json");
  const std::string dir = seer::test::temp_dir("coco_eval_cli_bad");
  json g = json::parse(std::ifstream(gt));
  const int64_t img = g["images"][0]["id"], cat = g["categories"][0]["id"];
  auto rec = [&](const std::string& rest) {
    return "{\"image_id\":" + std::to_string(img) + ",\"category_id\":" + std::to_string(cat) + "," + rest + "}";
  };
  struct Case {
    std::string text, needle;
  } cases[] = {
      {"[" + rec("\"bbox\":[1,2,3,4],\"score\":0.5") + "," + rec("\"bbox\":[1,2,3,4],\"score\":NaN") + "]",
       "results record 1: 'score' is not a finite number"},
      {"[" + rec("\"bbox\":[1,2,-3,4],\"score\":0.5") + "]", "results record 0: 'bbox' has a negative size"},
      {"[{\"image_id\":-5,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":0.5}]", "results record 0: image_id -5"},
      {"[" + rec("\"bbox\":[1,2,3,4],\"score\":0.5") + ",{\"image_id\":" + std::to_string(img) +
           ",\"category_id\":424242,\"bbox\":[1,2,3,4],\"score\":0.5}]",
       "results record 1: category_id 424242"},
      {"[{\"image_id\":", "malformed json"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string path = dir + "/r" + std::to_string(i++) + ".json";
    write(path, c.text);
    seer::test::CliResult r = run_seer("coco-eval --gt " + gt + " --dt " + path);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(path), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
  seer::test::CliResult missing = run_seer("coco-eval --gt " + gt + " --dt " + dir + "/nope.json");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find(dir + "/nope.json"), std::string::npos) << missing.out;
  seer::test::CliResult bad_type = run_seer("coco-eval --gt " + gt + " --dt " + dir + "/r0.json --iou-type keypoints");
  EXPECT_EQ(bad_type.code, 2) << bad_type.out;
}

}  // namespace seer_test_test_coco_eval_cli
