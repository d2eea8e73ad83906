// TaggingEvaluator: the numbers of the tagging metric functions (checked against the
// numpy reference in tests/data/eval/tagging_cases.json), a hand-computed case, and
// bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "eval/tagging_evaluator.h"
#include "test_util.h"
namespace seer_test_test_tagging_evaluator {

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

std::pair<Prediction, Target> image(int64_t id, std::vector<float> scores, std::vector<float> tags) {
  Prediction p;
  Target t;
  p.image_id = t.image_id = id;
  p.tag_scores = torch::tensor(scores);
  t.tags = torch::tensor(tags);
  return {p, t};
}

void feed(TaggingEvaluator& e, const std::vector<std::pair<Prediction, Target>>& items) {
  std::vector<Prediction> ps;
  std::vector<Target> ts;
  for (const auto& [p, t] : items) ps.push_back(p), ts.push_back(t);
  e.update(ps, ts);
}

std::string error_of(TaggingEvaluator& e, const std::vector<std::pair<Prediction, Target>>& items) {
  try {
    feed(e, items);
  } catch (const DataError& err) {
    return err.what();
  }
  return "";
}

}  // namespace

TEST(TaggingEvaluator, MatchesNumpyReferenceFixture) {
  json c = json::parse(std::ifstream(test::fixture("eval/tagging_cases.json")));
  const int64_t n = c["n"], k = c["c"];
  auto scores = c["scores"].get<std::vector<float>>();
  auto targets = c["targets"].get<std::vector<float>>();
  const char* six[] = {"CP", "CR", "CF1", "OP", "OR", "OF1"};
  for (int variant = 0; variant < 2; ++variant) {
    TaggingEvaluatorOptions o;
    if (variant == 0)
      o.thresholds = {c["threshold"].get<double>()};
    else
      o.thresholds = c["per_class_thresholds"].get<std::vector<double>>();
    o.top_k = {c["top_k"].get<int64_t>()};
    TaggingEvaluator e(o);
    // Three batches of uneven size, as a loader would deliver them.
    for (int64_t b0 : {0L, 7L, 25L}) {
      const int64_t b1 = b0 == 0 ? 7 : b0 == 7 ? 25 : n;
      std::vector<std::pair<Prediction, Target>> items;
      for (int64_t i = b0; i < b1; ++i)
        items.push_back(image(100 + i, std::vector<float>(scores.begin() + i * k, scores.begin() + (i + 1) * k),
                              std::vector<float>(targets.begin() + i * k, targets.begin() + (i + 1) * k)));
      feed(e, items);
    }
    Metrics m = e.compute();
    ASSERT_EQ(m.size(), 13u);
    EXPECT_EQ(m[0].first, "tag/mAP");
    EXPECT_EQ(m[1].first, "tag/CP");
    EXPECT_EQ(m[7].first, "tag/CP@top3");
    EXPECT_NEAR(get(m, "tag/mAP"), c["map"].get<double>(), 1e-12);
    for (int64_t j = 0; j < k; ++j) EXPECT_NEAR(e.class_ap()[j], c["ap"][j].get<double>(), 1e-12);
    const json& at = c[variant == 0 ? "at_threshold" : "at_per_class"];
    for (const char* s : six) {
      EXPECT_NEAR(get(m, std::string("tag/") + s), at[s].get<double>(), 1e-12) << s << " variant " << variant;
      EXPECT_NEAR(get(m, std::string("tag/") + s + "@top3"), c["at_top_k"][s].get<double>(), 1e-12) << s;
    }
    e.reset();
    EXPECT_EQ(e.num_images(), 0);
  }
}

TEST(TaggingEvaluator, HandComputedSmallCase) {
  // img1: scores .9 .95 .7, tags 1 0 unknown; img2: scores .2 .8 .6, tags 1 1 0.
  TaggingEvaluatorOptions o;
  o.thresholds = {0.5};
  o.top_k = {1};
  TaggingEvaluator e(o);
  feed(e, {image(1, {0.9f, 0.95f, 0.7f}, {1, 0, -1}), image(2, {0.2f, 0.8f, 0.6f}, {1, 1, 0})});
  Metrics m = e.compute();
  // AP: class 0 = 1, class 1 = 1/2 (the positive ranks second), class 2 has no positive.
  EXPECT_NEAR(get(m, "tag/mAP"), 0.75, 1e-12);
  EXPECT_EQ(e.class_ap()[2], -1.0);
  // Threshold .5: Nc = 1,1,0; Np = 1,2,1; Ng = 2,1,0.
  EXPECT_NEAR(get(m, "tag/CP"), 0.5, 1e-12);
  EXPECT_NEAR(get(m, "tag/CR"), 0.5, 1e-12);
  EXPECT_NEAR(get(m, "tag/CF1"), 0.5, 1e-12);
  EXPECT_NEAR(get(m, "tag/OP"), 0.5, 1e-12);
  EXPECT_NEAR(get(m, "tag/OR"), 2.0 / 3, 1e-12);
  EXPECT_NEAR(get(m, "tag/OF1"), 4.0 / 7, 1e-12);
  // Top-1 picks class 1 twice: Nc = 0,1,0; Np = 0,2,0; Ng = 2,1,0.
  EXPECT_NEAR(get(m, "tag/CP@top1"), 1.0 / 6, 1e-12);
  EXPECT_NEAR(get(m, "tag/CR@top1"), 1.0 / 3, 1e-12);
  EXPECT_NEAR(get(m, "tag/CF1@top1"), 2.0 / 9, 1e-12);
  EXPECT_NEAR(get(m, "tag/OP@top1"), 0.5, 1e-12);
  EXPECT_NEAR(get(m, "tag/OR@top1"), 1.0 / 3, 1e-12);
  EXPECT_NEAR(get(m, "tag/OF1@top1"), 0.4, 1e-12);
}

TEST(TaggingEvaluator, BadInputNamesTheImage) {
  TaggingEvaluator e;
  auto missing = image(41, {0.1f, 0.2f}, {1, 0});
  missing.first.tag_scores = torch::Tensor();
  EXPECT_NE(error_of(e, {missing}).find("image 41"), std::string::npos);
  EXPECT_NE(error_of(e, {image(42, {0.1f, 0.2f, 0.3f}, {1, 0})}).find("image 42"), std::string::npos);
  EXPECT_NE(error_of(e, {image(43, {0.1f, NAN}, {1, 0})}).find("image 43"), std::string::npos);
  auto other = image(44, {0.1f, 0.2f}, {1, 0});
  other.first.image_id = 45;
  EXPECT_NE(error_of(e, {other}).find("image 44"), std::string::npos);
  feed(e, {image(46, {0.1f, 0.2f}, {1, 0})});
  EXPECT_NE(error_of(e, {image(47, {0.1f, 0.2f, 0.3f}, {1, 0, 0})}).find("image 47"), std::string::npos);
  TaggingEvaluatorOptions o;
  o.thresholds = {0.5, 0.5, 0.5};
  TaggingEvaluator per_class(o);
  EXPECT_THROW(feed(per_class, {image(48, {0.1f, 0.2f}, {1, 0})}), ConfigError);
  o.thresholds = {};
  EXPECT_THROW(TaggingEvaluator{o}, ConfigError);
}

}  // namespace seer_test_test_tagging_evaluator
