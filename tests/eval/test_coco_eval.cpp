// COCOeval against pycocotools: the shared val2014 fixture (expected_stats.json,
// read in place) and our own coco_tiny160 fixtures (tests/data/eval, written by
// scripts/fixtures/make_coco_eval_fixtures.py).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "eval/coco_eval.h"
#include "test_util.h"
namespace seer_test_test_coco_eval {

using namespace seer;
using namespace seer::eval;
using nlohmann::json;

namespace {

json read_json(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return json::parse(f);
}

double max_abs_diff(const std::array<double, 12>& a, const json& b) {
  if (!b.is_array() || b.size() != a.size()) {
    ADD_FAILURE() << "expected 12 stats, got " << b.dump();
    return std::numeric_limits<double>::infinity();
  }
  double m = 0;
  for (int i = 0; i < 12; ++i) m = std::max(m, std::abs(a[i] - b[i].get<double>()));
  return m;
}

CocoEvalResult run(const CocoDataset& gt, const std::string& results, IouType t, bool use_cats = true,
                   int threads = 0) {
  auto dt = load_coco_results(results, gt, t);
  CocoEvalParams p;
  p.iou_type = t;
  p.use_cats = use_cats;
  p.num_threads = threads;
  return coco_evaluate(gt, dt, p);
}

void expect_per_category(const CocoEvalResult& r, const json& expected) {
  ASSERT_EQ(static_cast<size_t>(r.K), expected.size());
  for (int k = 0; k < r.K; ++k) EXPECT_NEAR(r.category_ap(k), expected[k].get<double>(), 1e-12) << "category " << k;
}

}  // namespace

TEST(CocoEval, ThresholdsEqualNumpyLinspace) {
  CocoEvalParams p;
  ASSERT_EQ(p.iou_thrs.size(), 10u);
  ASSERT_EQ(p.rec_thrs.size(), 101u);
  EXPECT_EQ(p.iou_thrs[5], 0.75);  // summarize() finds AP75 by exact equality
  EXPECT_EQ(p.iou_thrs[9], 0.95);
  EXPECT_EQ(p.rec_thrs[100], 1.0);
}

TEST(CocoEval, Val2014BboxMatchesPycocotools) {
  SEER_REQUIRE_DATA(gt_path, "coco_eval/instances_val2014_100.json");
  SEER_REQUIRE_DATA(stats, "coco_eval/expected_stats.json");
  SEER_REQUIRE_DATA(dt, "coco_eval/instances_val2014_fakebbox100_results.json");
  json expected = read_json(stats);
  auto gt = load_coco_gt(gt_path, false);
  auto r = run(gt, dt, IouType::Bbox);
  double d = max_abs_diff(r.stats, expected["bbox"]);
  EXPECT_LT(d, 1e-9);
  std::printf("val2014 bbox max |diff| = %.3g\n", d);
}

TEST(CocoEval, Val2014SegmMatchesPycocotools) {
  SEER_REQUIRE_DATA(gt_path, "coco_eval/instances_val2014_100.json");
  SEER_REQUIRE_DATA(stats, "coco_eval/expected_stats.json");
  SEER_REQUIRE_DATA(dt, "coco_eval/instances_val2014_fakesegm100_results.json");
  json expected = read_json(stats);
  auto gt = load_coco_gt(gt_path, true);
  auto r = run(gt, dt, IouType::Segm);
  double d = max_abs_diff(r.stats, expected["segm"]);
  EXPECT_LT(d, 1e-9);
  std::printf("val2014 segm max |diff| = %.3g\n", d);
}

TEST(CocoEval, Val2014NoCatsAndPerCategory) {
  SEER_REQUIRE_DATA(gt_path, "coco_eval/instances_val2014_100.json");
  SEER_REQUIRE_DATA(bbox_dt, "coco_eval/instances_val2014_fakebbox100_results.json");
  SEER_REQUIRE_DATA(segm_dt, "coco_eval/instances_val2014_fakesegm100_results.json");
  json extra = read_json(test::fixture("eval/val2014_100_extra_expected.json"));
  for (IouType t : {IouType::Bbox, IouType::Segm}) {
    const std::string name = to_string(t);
    auto gt = load_coco_gt(gt_path, t == IouType::Segm);
    const std::string& file = t == IouType::Segm ? segm_dt : bbox_dt;
    auto nocats = run(gt, file, t, false);
    EXPECT_LT(max_abs_diff(nocats.stats, extra[name + "_nocats"]), 1e-9) << name;
    auto cats = run(gt, file, t, true);
    expect_per_category(cats, extra[name + "_per_category"]);
  }
}

TEST(CocoEval, Tiny160MatchesPycocotools) {
  SEER_REQUIRE_DATA(gt_path, "coco/coco_tiny160/annotations/instances_val2017.json");
  json expected = read_json(test::fixture("eval/tiny160_expected.json"));
  auto gt_boxes = load_coco_gt(gt_path, false);
  auto gt_masks = load_coco_gt(gt_path, true);
  const std::string bbox = test::fixture("eval/tiny160_bbox_results.json");
  const std::string segm = test::fixture("eval/tiny160_segm_results.json");
  struct Case {
    const char* key;
    const CocoDataset& gt;
    std::string file;
    IouType type;
    bool use_cats;
  } cases[] = {{"bbox", gt_boxes, bbox, IouType::Bbox, true},
               {"bbox_nocats", gt_boxes, bbox, IouType::Bbox, false},
               {"segm", gt_masks, segm, IouType::Segm, true},
               {"segm_nocats", gt_masks, segm, IouType::Segm, false},
               {"bbox_as_segm", gt_masks, bbox, IouType::Segm, true}};
  for (const auto& c : cases) {
    for (int threads : {1, 2}) {
      auto r = run(c.gt, c.file, c.type, c.use_cats, threads);
      double d = max_abs_diff(r.stats, expected[c.key]);
      EXPECT_LT(d, 1e-9) << c.key << " threads=" << threads;
      if (threads == 2) std::printf("tiny160 %-13s max |diff| = %.3g\n", c.key, d);
      if (c.use_cats && expected.contains(std::string(c.key) + "_per_category"))
        expect_per_category(r, expected[std::string(c.key) + "_per_category"]);
    }
  }
}

TEST(CocoEval, PerfectDetectionsScoreOne) {
  CocoDataset gt;
  gt.images = {{1, 100, 100, ""}, {2, 100, 100, ""}};
  gt.categories = {{1, "a"}, {2, "b"}};
  gt.build_index();
  auto ann = [](int64_t id, int64_t img, int64_t cat, std::array<double, 4> b) {
    CocoAnn a;
    a.id = id, a.image_id = img, a.category_id = cat, a.bbox = b, a.area = b[2] * b[3];
    return a;
  };
  gt.annotations = {ann(1, 1, 1, {10, 10, 20, 20}), ann(2, 1, 2, {50, 50, 40, 40}), ann(3, 2, 1, {0, 0, 100, 100})};
  std::vector<CocoAnn> dt;
  for (size_t i = 0; i < gt.annotations.size(); ++i) {
    CocoAnn d = gt.annotations[i];
    d.id = static_cast<int64_t>(i) + 1;
    d.score = 0.9;
    dt.push_back(d);
  }
  auto r = coco_evaluate(gt, dt, CocoEvalParams{});
  EXPECT_DOUBLE_EQ(r.stats[0], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[1], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[3], 1.0);   // the 20x20 box is small
  EXPECT_DOUBLE_EQ(r.stats[4], 1.0);   // the 40x40 box is medium
  EXPECT_DOUBLE_EQ(r.stats[5], 1.0);
  // No detections at all: AP 0 where there is ground truth.
  auto z = coco_evaluate(gt, {}, CocoEvalParams{});
  EXPECT_EQ(z.stats[0], 0.0);
  EXPECT_NE(r.summary().find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000"),
            std::string::npos)
      << r.summary();
}

TEST(CocoEval, BadResultsNameTheRecord) {
  SEER_REQUIRE_DATA(gt_path, "coco_eval/instances_val2014_100.json");
  auto gt = load_coco_gt(gt_path, false);
  const int64_t img = gt.images[0].id, cat = gt.categories[0].id;
  auto rec = [&](const std::string& extra) {
    return "{\"image_id\":" + std::to_string(img) + ",\"category_id\":" + std::to_string(cat) + "," + extra + "}";
  };
  const std::string ok = rec("\"bbox\":[1,2,3,4],\"score\":0.5");
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    try {
      parse_coco_results(text, gt, IouType::Bbox, "r.json");
      ADD_FAILURE() << "no error for " << text;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("[" + ok + "," + rec("\"bbox\":[1,2,3,4],\"score\":NaN") + "]", "results record 1: 'score'");
  expect_error("[" + ok + "," + ok + "," + rec("\"bbox\":[1,2,-3,4],\"score\":0.5") + "]", "results record 2");
  expect_error("[" + ok + ",{\"image_id\":-77,\"category_id\":1,\"bbox\":[1,2,3,4],\"score\":1}]",
               "results record 1: image_id -77");
  expect_error("[" + ok + ",{\"image_id\":" + std::to_string(img) +
                   ",\"category_id\":987654,\"bbox\":[1,2,3,4],\"score\":1}]",
               "results record 1: category_id 987654");
  expect_error("[" + ok + ",", "malformed json");
  expect_error("{}", "must be a json list");
  expect_error("[" + rec("\"bbox\":[1,2,3],\"score\":0.5") + "]", "results record 0: 'bbox'");
  expect_error("[" + ok + "," + rec("\"bbox\":[1,2,3,4]") + "]", "results record 1: missing 'score'");
  expect_error("[" + ok + "," + rec("\"bbox\":[1,Infinity,3,4],\"score\":0.5") + "]", "results record 1");
  // A mask whose runs do not cover the image.
  auto gtm = load_coco_gt(gt_path, true);
  const std::string bad_mask =
      "[" + rec("\"segmentation\":{\"size\":[" + std::to_string(gtm.images[0].height) + "," +
                std::to_string(gtm.images[0].width) + "],\"counts\":[5,5]},\"score\":0.5") + "]";
  try {
    parse_coco_results(bad_mask, gtm, IouType::Segm, "r.json");
    ADD_FAILURE() << "no error for a mask of the wrong size";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("results record 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_coco_results("/nonexistent/results.json", gt, IouType::Bbox), DataError);
}

}  // namespace seer_test_test_coco_eval
