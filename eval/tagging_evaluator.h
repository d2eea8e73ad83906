#pragma once
// Multi-label tagging (Tag2Text / RAM / RAM++) as an Evaluator: each image's
// Prediction::tag_scores [C] is compared with Target::tags [C] (1 positive,
// 0 negative, any negative value = unknown, left out), using the metric
// functions of eval/tagging_metrics.h over every image seen since reset().
//
// Metrics, in order:
//   "tag/mAP"                                   classes with at least one positive
//   "tag/CP", "tag/CR", "tag/CF1", "tag/OP", "tag/OR", "tag/OF1"
//                                               score >= threshold (global or per class)
//   "tag/CP@top<k>", ..., "tag/OF1@top<k>"      for each k in options.top_k
// Bad input (missing tag_scores or tags, a size that differs from the tags or from
// earlier images, non-finite scores, a prediction for another image) is a
// DataError naming the image id.
#include <cstdint>
#include <vector>

#include "eval/evaluator.h"

namespace seer::eval {

struct TaggingEvaluatorOptions {
  std::vector<double> thresholds{0.5};  // one global threshold, or one per class
  std::vector<int64_t> top_k;           // e.g. {1, 3, 5}; empty = no top-k metrics
};

class TaggingEvaluator : public Evaluator {
 public:
  explicit TaggingEvaluator(TaggingEvaluatorOptions options = {});

  void reset() override;
  void update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) override;
  Metrics compute() override;

  // Per-class AP of the last compute(), -1 for classes without a positive.
  const std::vector<double>& class_ap() const { return class_ap_; }
  int64_t num_images() const { return n_; }

 private:
  TaggingEvaluatorOptions options_;
  int64_t n_ = 0, c_ = -1;       // images seen, classes (-1 until the first image)
  std::vector<float> scores_;    // [n, C] row-major
  std::vector<float> targets_;   // [n, C]
  std::vector<double> class_ap_;
};

}  // namespace seer::eval
