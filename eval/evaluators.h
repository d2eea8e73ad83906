#pragma once
// The table of evaluators (`evaluation.type`): coco_bbox, coco_segm,
// refcoco_rec, refcoco_res, tagging, proposals. Each entry reads its own keys
// of the `evaluation:` section and says which metrics it reports, so the
// trainer can check `train.best_metric` before the first epoch and pick a
// default.
//
//   evaluation: {type: coco_bbox, gt_json: null}
//   evaluation: {type: coco_segm, gt_json: null, mask_threshold: 0.5}
//   evaluation: {type: refcoco_rec}
//   evaluation: {type: refcoco_res, mask_threshold: 0.5, boxes: true}
//   evaluation: {type: tagging, threshold: 0.5, thresholds_file: null, top_k: []}
//   evaluation: {type: proposals, ks: [1, 10, 100, 300, 900]}
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/types.h"
#include "eval/evaluator.h"

namespace seer::eval {

struct EvaluatorSpec {
  std::string type;
  // The evaluator over a dataset's category table.
  std::function<std::unique_ptr<Evaluator>(const CategoryTable&)> make;
  // The metrics compute() reports, and prefixes of per-category ones ("bbox/AP-").
  std::vector<std::string> metric_names;
  std::vector<std::string> metric_prefixes;
  // The metric that selects best.pt when train.best_metric is "auto".
  std::string default_best_metric;
  // Whether `metric` is one compute() reports.
  bool reports(const std::string& metric) const;
};

// Reads evaluation.type (default coco_bbox) and that evaluator's keys; paths
// are relative to data_root like dataset paths. ConfigError (naming the key) for
// an unknown type (with the list of known ones) or a bad value.
EvaluatorSpec read_evaluator_spec(const ConfigSection& evaluation, const std::string& data_root);
std::vector<std::string> evaluator_types();

}  // namespace seer::eval
