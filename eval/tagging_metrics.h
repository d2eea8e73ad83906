#pragma once
// Multi-label tagging metrics (Tag2Text / RAM / RAM++ style evaluation):
// per-class AP and mAP, and the thresholded or top-k CP, CR, CF1, OP, OR, OF1.
//
// Definitions (the reference is scripts/fixtures/make_coco_eval_fixtures.py):
// - AP of a class: samples sorted by score, best first (ties keep sample order);
//   the mean over the positives of the precision at each positive's rank.
//   mAP averages the classes with at least one positive.
// - A sample predicts class c when score >= threshold (one global threshold or one
//   per class), or, for top-k, when c is among its k best scores (ties: lower index).
//   Per class: Nc = correct, Np = predicted, Ng = positives. CP = mean_c Nc/Np,
//   CR = mean_c Nc/Ng over all classes, a 0/0 ratio counting as 0; OP = sum Nc / sum Np,
//   OR = sum Nc / sum Ng; F1 = 2PR/(P+R), 0 when P+R = 0.
// Targets: 1 positive, 0 negative, any negative value = unknown (left out).
#include <cstdint>
#include <vector>

namespace seer::eval {

struct TaggingScores {
  double CP = 0, CR = 0, CF1 = 0, OP = 0, OR = 0, OF1 = 0;
};

// scores, targets: row-major [n, c].
std::vector<double> tagging_ap(const std::vector<float>& scores, const std::vector<float>& targets, int64_t n,
                               int64_t c);  // per class, -1 when a class has no positive
double tagging_map(const std::vector<double>& ap);
// thresholds: one value (global) or c values (per class).
TaggingScores tagging_at_threshold(const std::vector<float>& scores, const std::vector<float>& targets, int64_t n,
                                   int64_t c, const std::vector<double>& thresholds);
TaggingScores tagging_top_k(const std::vector<float>& scores, const std::vector<float>& targets, int64_t n, int64_t c,
                            int64_t k);

}  // namespace seer::eval
