// ProposalEvaluator: a hand-computed case with a resized target, the tiny160 box
// results as proposals against pycocotools' useCats=0 recall
// (tests/data/eval/proposals_expected.json), and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "core/error.h"
#include "eval/proposal_evaluator.h"
#include "eval/proposal_metrics.h"
#include "test_util.h"
namespace seer_test_test_proposal_evaluator {

using namespace seer;
using namespace seer::eval;
using nlohmann::json;

namespace {

double get(const Metrics& m, const std::string& name) {
  for (const auto& [n, v] : m)
    if (n == name) return v;
  ADD_FAILURE() << "no metric " << name;
  return NAN;
}

}  // namespace

TEST(ProposalEvaluator, HandComputedSmallCase) {
  // Image 100x100 resized to 50x50: targets [0,0,20,20] (small) and [20,20,100,100]
  // (medium) in original pixels; labels differ but recall is class-agnostic.
  Target t;
  t.image_id = 3;
  t.orig_size = {100, 100};
  t.size = {50, 50};
  t.boxes = torch::tensor({0.f, 0.f, 10.f, 10.f, 10.f, 10.f, 50.f, 50.f}).view({2, 4});
  t.labels = torch::tensor({4L, 9L});
  Prediction p;  // an exact hit, then IoU 80*70/6400 = 0.875
  p.boxes = torch::tensor({0.f, 0.f, 20.f, 20.f, 20.f, 20.f, 100.f, 90.f}).view({2, 4});
  p.scores = torch::tensor({0.9f, 0.8f});
  p.labels = torch::tensor({2L, 2L});
  ProposalEvaluatorOptions o;
  o.ks = {1, 2};
  ProposalEvaluator e(o);
  e.update({p}, {t});
  Metrics m = e.compute();
  ASSERT_EQ(m.size(), 10u);  // AR@1,2  R50@1,2  AR_{small,medium,large}@1,2
  EXPECT_NEAR(get(m, "proposal/AR@1"), 0.5, 1e-12);
  EXPECT_NEAR(get(m, "proposal/AR@2"), 0.9, 1e-12);  // the second target is found at IoU .50:.85
  EXPECT_NEAR(get(m, "proposal/R50@1"), 0.5, 1e-12);
  EXPECT_NEAR(get(m, "proposal/R50@2"), 1.0, 1e-12);
  EXPECT_NEAR(get(m, "proposal/AR_small@1"), 1.0, 1e-12);
  EXPECT_NEAR(get(m, "proposal/AR_medium@1"), 0.0, 1e-12);
  EXPECT_NEAR(get(m, "proposal/AR_medium@2"), 0.8, 1e-12);
  EXPECT_EQ(get(m, "proposal/AR_large@2"), -1.0);  // no large target
  e.reset();
  e.update({Prediction{}}, {t});  // no proposals at all
  EXPECT_NEAR(get(e.compute(), "proposal/AR@2"), 0.0, 1e-12);
}

TEST(ProposalEvaluator, MatchesPycocotoolsOnTiny160) {
  SEER_REQUIRE_DATA(gt_path, "coco/coco_tiny160/annotations/instances_val2017.json");
  json expected = json::parse(std::ifstream(test::fixture("eval/proposals_expected.json")))["metrics"];
  const CocoDataset gt = load_coco_gt(gt_path, false);
  const auto dt = load_coco_results(test::fixture("eval/tiny160_bbox_results.json"), gt, IouType::Bbox);
  // Targets and predictions as a loader and a model would produce them (double
  // tensors keep the boxes exact, so IoUs equal pycocotools').
  std::map<int64_t, std::vector<const CocoAnn*>> gts, dts;
  for (const auto& a : gt.annotations) gts[a.image_id].push_back(&a);
  for (const auto& a : dt) dts[a.image_id].push_back(&a);
  // With useCats=0 pycocotools lists an image's boxes category by category (file
  // order inside one), and its stable score sort keeps that order among equal
  // scores; feed them in that order so ties break the same way.
  auto by_category = [](const CocoAnn* a, const CocoAnn* b) { return a->category_id < b->category_id; };
  for (auto& [id, v] : gts) std::stable_sort(v.begin(), v.end(), by_category);
  for (auto& [id, v] : dts) std::stable_sort(v.begin(), v.end(), by_category);
  auto xyxy = [](const std::vector<const CocoAnn*>& v) {
    std::vector<double> b;
    for (const CocoAnn* a : v) b.insert(b.end(), {a->bbox[0], a->bbox[1], a->bbox[0] + a->bbox[2], a->bbox[1] + a->bbox[3]});
    return torch::tensor(b, torch::kDouble).view({-1, 4});
  };
  ProposalEvaluator e;
  std::vector<Prediction> ps;
  std::vector<Target> ts;
  for (const auto& im : gt.images) {
    Target t;
    t.image_id = im.id;
    t.orig_size = t.size = {im.height, im.width};
    const auto& g = gts[im.id];
    if (!g.empty()) {
      t.boxes = xyxy(g);
      std::vector<double> area;
      std::vector<int64_t> crowd, labels;
      for (const CocoAnn* a : g) area.push_back(a->area), crowd.push_back(a->iscrowd), labels.push_back(0);
      t.area = torch::tensor(area, torch::kDouble);
      t.iscrowd = torch::tensor(crowd);
      t.labels = torch::tensor(labels);
    }
    Prediction p;
    p.image_id = im.id;
    const auto& d = dts[im.id];
    if (!d.empty()) {
      p.boxes = xyxy(d);
      std::vector<double> s;
      for (const CocoAnn* a : d) s.push_back(a->score);
      p.scores = torch::tensor(s, torch::kDouble);
      p.labels = torch::zeros({static_cast<int64_t>(d.size())}, torch::kLong);
    }
    ps.push_back(p), ts.push_back(t);
    if (ps.size() == 16) e.update(ps, ts), ps.clear(), ts.clear();
  }
  e.update(ps, ts);
  Metrics m = e.compute();
  ASSERT_EQ(m.size(), expected.size());
  for (const auto& [name, v] : m) {
    ASSERT_EQ(name.rfind("proposal/", 0), 0u) << name;
    const std::string key = name.substr(9);
    ASSERT_TRUE(expected.contains(key)) << key;
    EXPECT_NEAR(v, expected[key].get<double>(), 1e-9) << key;
  }
}

TEST(ProposalEvaluator, BadInputNamesTheImage) {
  ProposalEvaluator e;
  Target t;
  t.image_id = 12;
  t.orig_size = t.size = {10, 10};
  t.boxes = torch::tensor({0.f, 0.f, 5.f, 5.f}).view({1, 4});
  t.labels = torch::zeros({1}, torch::kLong);
  Prediction p;
  p.boxes = torch::tensor({0.f, 0.f, 5.f, 5.f}).view({1, 4});
  p.scores = torch::tensor({NAN});
  auto error_of = [&](const Prediction& pp) -> std::string {
    try {
      e.update({pp}, {t});
    } catch (const DataError& err) {
      return err.what();
    }
    return "";
  };
  EXPECT_NE(error_of(p).find("image 12"), std::string::npos);
  p.scores = torch::tensor({0.5f, 0.4f});  // two scores for one box
  EXPECT_NE(error_of(p).find("image 12"), std::string::npos);
  p.scores = torch::tensor({0.5f});
  p.image_id = 13;
  EXPECT_NE(error_of(p).find("image 13"), std::string::npos);
  ProposalEvaluatorOptions o;
  o.ks = {};
  EXPECT_THROW(ProposalEvaluator{o}, ConfigError);
}

}  // namespace seer_test_test_proposal_evaluator
