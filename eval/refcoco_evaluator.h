#pragma once
// Referring expressions (RefCOCO / RefCOCO+ / RefCOCOg) as an Evaluator: one
// (Prediction, Target) pair is one expression.
//   REC: the prediction's best-scoring box (the first one when there are no
//        scores; no box = a miss) against the target's first box, both in
//        original pixels (the target box is mapped back from the current size).
//        Metrics "rec/Prec@0.5", "rec/Prec@0.55", ..., "rec/Prec@0.9", "rec/mIoU".
//   RES: the mask of that same prediction ([K,H,W], [K,1,H,W] or [H,W], original
//        image size; floating masks are foreground where > mask_threshold) against
//        the target's first mask mapped back to the original size.
//        Metrics "res/mIoU", "res/oIoU", "res/Prec@0.5", ..., "res/Prec@0.9".
// The definitions are those of eval/refcoco_metrics.h. Bad input (NaN boxes or
// scores, masks of the wrong size, a prediction for another image, a target without
// a box or mask) is a DataError naming the image id and the expression.
//
// The papers report one table of splits (RefCOCO, RefCOCO+: val, testA, testB;
// RefCOCOg: val, test) by metric; format_split_table() / split_table_json() print it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "eval/evaluator.h"
#include "eval/refcoco_metrics.h"

namespace seer::eval {

struct RefcocoEvaluatorOptions {
  bool rec = true;             // evaluate boxes
  bool res = false;            // evaluate masks
  double mask_threshold = 0.5;  // VG-LAW uses 0.35
};

class RefcocoEvaluator : public Evaluator {
 public:
  explicit RefcocoEvaluator(RefcocoEvaluatorOptions options = {});

  void reset() override;
  void update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) override;
  Metrics compute() override;

  int64_t num_expressions() const { return count_; }

 private:
  RefcocoEvaluatorOptions options_;
  RecMetrics rec_;
  ResMetrics res_;
  int64_t count_ = 0;
};

// The standard splits of a dataset: "refcoco" / "refcoco+" -> {val, testA, testB},
// "refcocog" (umd) -> {val, test}. Unknown names are a ConfigError.
std::vector<std::string> refcoco_splits(const std::string& dataset);

// One column of the table: a label such as "RefCOCO val" and that split's metrics.
using SplitColumn = std::pair<std::string, Metrics>;

// Text table, one row per metric and one column per split, values x100 with
// `decimals` decimals as in the papers; "-" where a split lacks a metric. `rows`
// chooses and orders the metrics (empty = every metric of the first column, then
// new ones in order of appearance).
std::string format_split_table(const std::vector<SplitColumn>& columns, const std::vector<std::string>& rows = {},
                               int decimals = 2);
// The same as JSON: {"columns": [labels], "rows": [metric names],
// "values": {label: {metric: value}}} (raw values, not x100).
std::string split_table_json(const std::vector<SplitColumn>& columns, const std::vector<std::string>& rows = {});

}  // namespace seer::eval
