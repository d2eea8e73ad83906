// Tagging metrics against the numpy reference of
// scripts/fixtures/make_coco_eval_fixtures.py (tests/data/eval/tagging_cases.json).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.h"
#include "eval/tagging_metrics.h"
#include "test_util.h"
namespace seer_test_test_tagging_metrics {

using namespace seer::eval;
using nlohmann::json;

namespace {

void expect_scores(const TaggingScores& s, const json& e, const char* what) {
  EXPECT_NEAR(s.CP, e["CP"].get<double>(), 1e-12) << what;
  EXPECT_NEAR(s.CR, e["CR"].get<double>(), 1e-12) << what;
  EXPECT_NEAR(s.CF1, e["CF1"].get<double>(), 1e-12) << what;
  EXPECT_NEAR(s.OP, e["OP"].get<double>(), 1e-12) << what;
  EXPECT_NEAR(s.OR, e["OR"].get<double>(), 1e-12) << what;
  EXPECT_NEAR(s.OF1, e["OF1"].get<double>(), 1e-12) << what;
}

}  // namespace

TEST(TaggingMetrics, MatchNumpyReference) {
  json c = json::parse(std::ifstream(seer::test::fixture("eval/tagging_cases.json")));
  const int64_t n = c["n"], k = c["c"];
  auto scores = c["scores"].get<std::vector<float>>();
  auto targets = c["targets"].get<std::vector<float>>();
  auto ap = tagging_ap(scores, targets, n, k);
  ASSERT_EQ(ap.size(), static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) EXPECT_NEAR(ap[j], c["ap"][j].get<double>(), 1e-12) << "class " << j;
  EXPECT_EQ(ap[5], -1.0);  // no positives: left out of mAP
  EXPECT_NEAR(tagging_map(ap), c["map"].get<double>(), 1e-12);
  expect_scores(tagging_at_threshold(scores, targets, n, k, {c["threshold"].get<double>()}), c["at_threshold"],
                "global threshold");
  expect_scores(tagging_at_threshold(scores, targets, n, k, c["per_class_thresholds"].get<std::vector<double>>()),
                c["at_per_class"], "per-class thresholds");
  expect_scores(tagging_top_k(scores, targets, n, k, c["top_k"].get<int64_t>()), c["at_top_k"], "top-3");
}

TEST(TaggingMetrics, PerfectAndBadShapes) {
  std::vector<float> s = {0.9f, 0.1f, 0.2f, 0.8f}, t = {1, 0, 0, 1};
  auto ap = tagging_ap(s, t, 2, 2);
  EXPECT_DOUBLE_EQ(tagging_map(ap), 1.0);
  auto r = tagging_at_threshold(s, t, 2, 2, {0.5});
  EXPECT_DOUBLE_EQ(r.CF1, 1.0);
  EXPECT_DOUBLE_EQ(r.OF1, 1.0);
  EXPECT_THROW(tagging_at_threshold(s, t, 2, 2, {0.5, 0.5, 0.5}), seer::Error);
  EXPECT_THROW(tagging_ap(s, t, 3, 2), seer::Error);
}

}  // namespace seer_test_test_tagging_metrics
