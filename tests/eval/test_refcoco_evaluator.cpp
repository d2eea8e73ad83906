// RefcocoEvaluator: REC / RES through Prediction and Target against the metric
// functions' numpy fixture (tests/data/eval/refcoco_cases.json) and hand-computed
// cases with resized targets; the split table; bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "eval/refcoco_evaluator.h"
#include "test_util.h"
namespace seer_test_test_refcoco_evaluator {

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

Target target(int64_t id, std::array<int64_t, 2> orig, std::array<int64_t, 2> size) {
  Target t;
  t.image_id = id;
  t.orig_size = orig;
  t.size = size;
  t.caption = "the dog on the left";
  return t;
}

std::string error_of(RefcocoEvaluator& e, const Prediction& p, const Target& t) {
  try {
    e.update({p}, {t});
  } catch (const DataError& err) {
    return err.what();
  }
  return "";
}

}  // namespace

TEST(RefcocoEvaluator, RecMatchesFixture) {
  json c = json::parse(std::ifstream(test::fixture("eval/refcoco_cases.json")));
  RefcocoEvaluator e;
  std::vector<Prediction> ps;
  std::vector<Target> ts;
  for (size_t i = 0; i < c["pred"].size(); ++i) {
    Prediction p;
    p.boxes = torch::tensor(c["pred"][i].get<std::vector<double>>(), torch::kDouble).view({1, 4});
    p.scores = torch::ones({1});
    Target t = target(static_cast<int64_t>(i), {1000, 1000}, {1000, 1000});
    t.boxes = torch::tensor(c["gt"][i].get<std::vector<double>>(), torch::kDouble).view({1, 4});
    ps.push_back(p), ts.push_back(t);
  }
  e.update(ps, ts);
  Metrics m = e.compute();
  ASSERT_EQ(m.size(), 10u);
  EXPECT_EQ(m[0].first, "rec/Prec@0.5");
  EXPECT_EQ(m[1].first, "rec/Prec@0.55");
  EXPECT_EQ(m[8].first, "rec/Prec@0.9");
  EXPECT_EQ(m[9].first, "rec/mIoU");
  for (const auto& [name, v] : c["rec"].items()) {
    std::string n = name;
    if (n != "mIoU" && n.back() == '0') n.pop_back();
    EXPECT_NEAR(get(m, "rec/" + n), v.get<double>(), 1e-12) << name;
  }
}

TEST(RefcocoEvaluator, ResMatchesFixture) {
  json c = json::parse(std::ifstream(test::fixture("eval/refcoco_cases.json")));
  RefcocoEvaluatorOptions o;
  o.rec = false;
  o.res = true;
  o.mask_threshold = c["mask_threshold"].get<double>();
  RefcocoEvaluator e(o);
  auto prob = c["prob"].get<std::vector<float>>();
  auto gt = c["gt_masks"].get<std::vector<uint8_t>>();
  const int64_t n = c["n_masks"], hw = c["hw"];
  for (int64_t i = 0; i < n; ++i) {
    Prediction p;
    p.masks = torch::tensor(std::vector<float>(prob.begin() + i * hw, prob.begin() + (i + 1) * hw)).view({1, 1, 20, 20});
    Target t = target(i, {20, 20}, {20, 20});
    t.masks = torch::tensor(std::vector<uint8_t>(gt.begin() + i * hw, gt.begin() + (i + 1) * hw)).view({1, 20, 20});
    e.update({p}, {t});
  }
  Metrics m = e.compute();
  ASSERT_EQ(m.size(), 7u);
  EXPECT_EQ(m[0].first, "res/mIoU");
  EXPECT_EQ(m[1].first, "res/oIoU");
  for (const auto& [name, v] : c["res"].items()) EXPECT_NEAR(get(m, "res/" + name), v.get<double>(), 1e-12) << name;
}

TEST(RefcocoEvaluator, HandComputedRecWithResizedTarget) {
  RefcocoEvaluator e;
  // Image 200x100 (h, w) resized to 100x50: the target box doubles to [20,20,60,60].
  Target t = target(1, {200, 100}, {100, 50});
  t.boxes = torch::tensor({10.f, 10.f, 30.f, 30.f}).view({1, 4});
  Prediction best;  // the best-scoring box is the second, an exact hit
  best.boxes = torch::tensor({0.f, 0.f, 10.f, 10.f, 20.f, 20.f, 60.f, 60.f}).view({2, 4});
  best.scores = torch::tensor({0.1f, 0.9f});
  Prediction half;  // IoU 0.5: a hit at 0.5 only
  half.boxes = torch::tensor({20.f, 20.f, 60.f, 40.f}).view({1, 4});
  half.scores = torch::tensor({0.5f});
  Prediction none;  // no box: a miss
  e.update({best, half, none}, {t, t, t});
  Metrics m = e.compute();
  EXPECT_NEAR(get(m, "rec/Prec@0.5"), 2.0 / 3, 1e-12);
  EXPECT_NEAR(get(m, "rec/Prec@0.55"), 1.0 / 3, 1e-12);
  EXPECT_NEAR(get(m, "rec/Prec@0.9"), 1.0 / 3, 1e-12);
  EXPECT_NEAR(get(m, "rec/mIoU"), 0.5, 1e-12);
  EXPECT_EQ(e.num_expressions(), 3);
}

TEST(RefcocoEvaluator, HandComputedResThresholdAndResize) {
  // Image 4x4 resized to 2x2 and padded to 3x3: the target's top-left pixel is the
  // top-left 2x2 block of the original (4 pixels).
  Target t = target(2, {4, 4}, {2, 2});
  t.boxes = torch::tensor({0.f, 0.f, 1.f, 1.f}).view({1, 4});
  t.masks = torch::zeros({1, 3, 3}, torch::kUInt8);
  t.masks[0][0][0] = 1;
  Prediction soft;  // 0.4 on rows 0-1, cols 0-2 (6 pixels)
  soft.masks = torch::zeros({1, 4, 4});
  soft.masks.slice(1, 0, 2).slice(2, 0, 3).fill_(0.4);
  Prediction exact;  // uint8, equal to the target
  exact.masks = torch::zeros({1, 4, 4}, torch::kUInt8);
  exact.masks.slice(1, 0, 2).slice(2, 0, 2).fill_(1);
  for (double thr : {0.35, 0.5}) {
    RefcocoEvaluatorOptions o;
    o.rec = false;
    o.res = true;
    o.mask_threshold = thr;
    RefcocoEvaluator e(o);
    e.update({soft, exact}, {t, t});
    Metrics m = e.compute();
    if (thr == 0.35) {  // IoUs 4/6 and 1
      EXPECT_NEAR(get(m, "res/mIoU"), 5.0 / 6, 1e-12);
      EXPECT_NEAR(get(m, "res/oIoU"), 8.0 / 10, 1e-12);
      EXPECT_NEAR(get(m, "res/Prec@0.5"), 1.0, 1e-12);
      EXPECT_NEAR(get(m, "res/Prec@0.7"), 0.5, 1e-12);
    } else {  // nothing above 0.5: IoUs 0 and 1
      EXPECT_NEAR(get(m, "res/mIoU"), 0.5, 1e-12);
      EXPECT_NEAR(get(m, "res/oIoU"), 4.0 / 8, 1e-12);
    }
  }
}

TEST(RefcocoEvaluator, BadInputNamesTheImage) {
  RefcocoEvaluatorOptions o;
  o.res = true;
  RefcocoEvaluator e(o);
  Target t = target(7, {4, 4}, {4, 4});
  t.boxes = torch::tensor({0.f, 0.f, 2.f, 2.f}).view({1, 4});
  t.masks = torch::ones({1, 4, 4}, torch::kUInt8);
  Prediction p;
  p.boxes = torch::tensor({0.f, 0.f, 2.f, 2.f}).view({1, 4});
  p.scores = torch::tensor({0.5f});
  p.masks = torch::ones({1, 3, 4});  // wrong size
  std::string msg = error_of(e, p, t);
  EXPECT_NE(msg.find("image 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3x4"), std::string::npos) << msg;
  p.masks = torch::ones({1, 4, 4});
  p.scores = torch::tensor({NAN});
  EXPECT_NE(error_of(e, p, t).find("image 7"), std::string::npos);
  p.scores = torch::tensor({0.5f});
  p.image_id = 8;  // the prediction of another image
  EXPECT_NE(error_of(e, p, t).find("image 8"), std::string::npos);
  p.image_id = 7;
  p.masks = torch::full({1, 4, 4}, NAN);
  EXPECT_NE(error_of(e, p, t).find("image 7"), std::string::npos);
  p.masks = torch::ones({1, 4, 4});
  e.update({p}, {t});
  EXPECT_NEAR(get(e.compute(), "res/mIoU"), 1.0, 1e-12);  // failed updates left nothing behind
  EXPECT_EQ(e.num_expressions(), 1);
}

TEST(RefcocoEvaluator, SplitTable) {
  EXPECT_EQ(refcoco_splits("RefCOCO+"), (std::vector<std::string>{"val", "testA", "testB"}));
  EXPECT_EQ(refcoco_splits("refcocog"), (std::vector<std::string>{"val", "test"}));
  EXPECT_THROW(refcoco_splits("refclef"), ConfigError);
  std::vector<SplitColumn> cols = {{"RefCOCO val", {{"rec/Prec@0.5", 0.8512}, {"res/mIoU", 0.7}}},
                                   {"RefCOCO testA", {{"rec/Prec@0.5", 0.875}}}};
  const std::string text = format_split_table(cols);
  EXPECT_EQ(text,
            "metric        RefCOCO val  RefCOCO testA\n"
            "rec/Prec@0.5        85.12          87.50\n"
            "res/mIoU            70.00              -\n");
  json j = json::parse(split_table_json(cols, {"rec/Prec@0.5"}));
  EXPECT_EQ(j["columns"][1], "RefCOCO testA");
  EXPECT_EQ(j["rows"].size(), 1u);
  EXPECT_DOUBLE_EQ(j["values"]["RefCOCO val"]["rec/Prec@0.5"].get<double>(), 0.8512);
  EXPECT_FALSE(j["values"]["RefCOCO val"].contains("res/mIoU"));
}

}  // namespace seer_test_test_refcoco_evaluator
