// RefCOCO REC / RES metrics against the numpy reference of
// scripts/fixtures/make_coco_eval_fixtures.py (tests/data/eval/refcoco_cases.json).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "eval/refcoco_metrics.h"
#include "test_util.h"
namespace seer_test_test_refcoco_metrics {

using namespace seer::eval;
using nlohmann::json;

TEST(RefcocoMetrics, RecMatchesNumpyReference) {
  json c = json::parse(std::ifstream(seer::test::fixture("eval/refcoco_cases.json")));
  RecMetrics rec;
  for (size_t i = 0; i < c["pred"].size(); ++i)
    rec.add(c["pred"][i].get<std::array<double, 4>>(), c["gt"][i].get<std::array<double, 4>>());
  auto m = rec.compute();
  ASSERT_EQ(m.size(), 10u);
  EXPECT_EQ(m[0].first, "Prec@0.50");
  EXPECT_EQ(m[8].first, "Prec@0.90");
  for (const auto& [name, v] : m) EXPECT_NEAR(v, c["rec"][name].get<double>(), 1e-12) << name;
}

TEST(RefcocoMetrics, ResMatchesNumpyReference) {
  json c = json::parse(std::ifstream(seer::test::fixture("eval/refcoco_cases.json")));
  ResMetrics res(c["mask_threshold"].get<double>());
  auto prob = c["prob"].get<std::vector<float>>();
  auto gt = c["gt_masks"].get<std::vector<uint8_t>>();
  const int64_t n = c["n_masks"], hw = c["hw"];
  for (int64_t i = 0; i < n; ++i) res.add(prob.data() + i * hw, gt.data() + i * hw, hw);
  auto m = res.compute();
  ASSERT_EQ(m.size(), 7u);
  EXPECT_EQ(m[0].first, "mIoU");
  EXPECT_EQ(m[1].first, "oIoU");
  for (const auto& [name, v] : m) EXPECT_NEAR(v, c["res"][name].get<double>(), 1e-12) << name;
}

}  // namespace seer_test_test_refcoco_metrics
