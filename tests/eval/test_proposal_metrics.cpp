// Proposal recall against pycocotools (COCOeval useCats=0, maxDets 1..900) on the
// tiny160 box results (tests/data/eval/proposals_expected.json).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "eval/proposal_metrics.h"
#include "test_util.h"
namespace seer_test_test_proposal_metrics {

using namespace seer::eval;
using nlohmann::json;

TEST(ProposalMetrics, MatchPycocotools) {
  SEER_REQUIRE_DATA(gt_path, "coco/coco_tiny160/annotations/instances_val2017.json");
  json e = json::parse(std::ifstream(seer::test::fixture("eval/proposals_expected.json")))["metrics"];
  auto gt = load_coco_gt(gt_path, false);
  auto dt = load_coco_results(seer::test::fixture("eval/tiny160_bbox_results.json"), gt, IouType::Bbox);
  Metrics m = proposal_recall(gt, dt);
  ASSERT_EQ(m.size(), e.size());
  for (const auto& [name, v] : m) {
    ASSERT_TRUE(e.contains(name)) << name;
    EXPECT_NEAR(v, e[name].get<double>(), 1e-9) << name;
  }
}

}  // namespace seer_test_test_proposal_metrics
