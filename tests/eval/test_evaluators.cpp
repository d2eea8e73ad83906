// The evaluator table (eval/evaluators.h): every type builds, reads its own
// keys, names the metrics its evaluator really reports, and refuses what it
// does not know with one line naming the key.
#include <gtest/gtest.h>

#include <fstream>

#include "core/config.h"
#include "core/error.h"
#include "eval/evaluators.h"
#include "test_util.h"
namespace seer_test_test_evaluators {

using namespace seer;
using namespace seer::eval;

namespace {

EvaluatorSpec spec_of(const std::string& yaml, const std::string& root = "") {
  Config c = Config::from_string(yaml, "t.yaml");
  auto spec = read_evaluator_spec(c.root().sub("evaluation"), root);
  c.check_unknown_keys();
  return spec;
}

std::string error_of(const std::string& yaml) {
  try {
    spec_of(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> names(const Metrics& m) {
  std::vector<std::string> out;
  for (const auto& [n, v] : m) out.push_back(n);
  return out;
}

CategoryTable two_classes() {
  CategoryTable c;
  c.add(1, "a");
  c.add(2, "b");
  return c;
}

TEST(Evaluators, TableHoldsEveryEvaluator) {
  EXPECT_EQ(evaluator_types(), (std::vector<std::string>{"coco_bbox", "coco_segm", "proposals", "refcoco_rec",
                                                          "refcoco_res", "tagging"}));
  for (const auto& t : evaluator_types()) {
    auto s = spec_of("evaluation: {type: " + t + "}");
    EXPECT_EQ(s.type, t);
    ASSERT_TRUE(s.make) << t;
    EXPECT_TRUE(s.make(two_classes())) << t;
    EXPECT_TRUE(s.reports(s.default_best_metric)) << t << ": " << s.default_best_metric;
  }
  EXPECT_EQ(spec_of("{}").type, "coco_bbox");  // the default
}

TEST(Evaluators, UnknownTypeOrKeyIsOneLineNamingIt) {
  auto e = error_of("evaluation: {type: coco_box}");
  EXPECT_NE(e.find("evaluation.type"), std::string::npos) << e;
  EXPECT_NE(e.find("refcoco_rec"), std::string::npos) << e;  // the known ones are listed
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  // keys belong to their evaluator: ks is a proposals key, not a coco_bbox one
  e = error_of("evaluation: {type: coco_bbox, ks: [1]}");
  EXPECT_NE(e.find("evaluation.ks"), std::string::npos) << e;
  e = error_of("evaluation: {type: tagging, threshold: 1.5}");
  EXPECT_NE(e.find("evaluation.threshold"), std::string::npos) << e;
  e = error_of("evaluation: {type: proposals, ks: [0]}");
  EXPECT_NE(e.find("evaluation.ks"), std::string::npos) << e;
}

TEST(Evaluators, NamedMetricsAreWhatTheEvaluatorsReport) {
  // COCO: one image, one GT box and a perfect detection.
  auto coco = spec_of("evaluation: {type: coco_bbox}");
  auto ev = coco.make(two_classes());
  Target t;
  t.image_id = 7;
  t.size = t.orig_size = {100, 100};
  t.boxes = torch::tensor({{10.0f, 10.0f, 50.0f, 60.0f}});
  t.labels = torch::tensor({1}, torch::kLong);
  t.iscrowd = torch::zeros({1}, torch::kUInt8);
  t.area = torch::tensor({2000.0f});
  Prediction p;
  p.image_id = 7;
  p.boxes = t.boxes.clone();
  p.scores = torch::tensor({0.9f});
  p.labels = torch::tensor({1}, torch::kLong);
  ev->update({p}, {t});
  auto m = ev->compute();
  for (const auto& n : names(m)) EXPECT_TRUE(coco.reports(n)) << n;
  EXPECT_TRUE(coco.reports("bbox/AP-b"));
  EXPECT_FALSE(coco.reports("bbox/AP-"));
  EXPECT_FALSE(coco.reports("segm/AP"));
  EXPECT_EQ(coco.default_best_metric, "bbox/AP50");
  EXPECT_EQ(spec_of("evaluation: {type: coco_segm}").default_best_metric, "segm/AP50");

  auto prop = spec_of("evaluation: {type: proposals, ks: [5, 2]}");
  auto pe = prop.make(two_classes());
  pe->update({p}, {t});
  auto pm = pe->compute();
  EXPECT_EQ(names(pm).size(), prop.metric_names.size());
  for (const auto& n : names(pm)) EXPECT_TRUE(prop.reports(n)) << n;
  EXPECT_EQ(prop.default_best_metric, "proposal/AR@5");

  auto res = spec_of("evaluation: {type: refcoco_res, mask_threshold: 0.35, boxes: false}");
  for (const auto& n : res.metric_names) EXPECT_EQ(n.rfind("res/", 0), 0u) << n;
  EXPECT_EQ(res.default_best_metric, "res/mIoU");
  auto rec = spec_of("evaluation: {type: refcoco_rec}");
  EXPECT_TRUE(rec.reports("rec/Prec@0.5")) << rec.metric_names.front();
  auto tag = spec_of("evaluation: {type: tagging, top_k: [3]}");
  EXPECT_TRUE(tag.reports("tag/mAP"));
  EXPECT_TRUE(tag.reports("tag/CF1@top3"));
}

TEST(Evaluators, TaggingReadsPerClassThresholds) {
  const auto dir = test::temp_dir("evaluators_thresholds");
  {
    std::ofstream f(dir + "/thr.txt");
    f << "0.2\n0.9\n";
  }
  auto spec = spec_of("evaluation: {type: tagging, thresholds_file: thr.txt}", dir);
  auto ev = spec.make({});
  Prediction p;
  p.image_id = 1;
  p.tag_scores = torch::tensor({0.5f, 0.5f});
  Target t;
  t.image_id = 1;
  t.tags = torch::tensor({1.0f, 1.0f});
  ev->update({p}, {t});
  double cp = -1;
  for (const auto& [n, v] : ev->compute())
    if (n == "tag/OR") cp = v;
  EXPECT_DOUBLE_EQ(cp, 0.5);  // class 0 passes its 0.2, class 1 fails its 0.9
  {
    std::ofstream f(dir + "/bad.txt");
    f << "0.2\nhigh\n";
  }
  try {
    spec_of("evaluation: {type: tagging, thresholds_file: bad.txt}", dir);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.txt:2"), std::string::npos) << e.what();
  }
}

}  // namespace

}  // namespace seer_test_test_evaluators
