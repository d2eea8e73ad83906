#include "eval/tagging_evaluator.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "eval/tagging_metrics.h"

namespace seer::eval {

namespace {

void append_scores(Metrics& m, const TaggingScores& s, const std::string& suffix) {
  m.emplace_back("tag/CP" + suffix, s.CP);
  m.emplace_back("tag/CR" + suffix, s.CR);
  m.emplace_back("tag/CF1" + suffix, s.CF1);
  m.emplace_back("tag/OP" + suffix, s.OP);
  m.emplace_back("tag/OR" + suffix, s.OR);
  m.emplace_back("tag/OF1" + suffix, s.OF1);
}

// [C] of any shape [C] / [1, C] -> contiguous float32 on the CPU.
torch::Tensor flat(const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat).reshape({-1}).contiguous(); }

}  // namespace

TaggingEvaluator::TaggingEvaluator(TaggingEvaluatorOptions options) : options_(std::move(options)) {
  if (options_.thresholds.empty()) throw ConfigError("tagging evaluator: thresholds is empty (give 1 or one per class)");
  for (int64_t k : options_.top_k)
    if (k <= 0) throw ConfigError("tagging evaluator: top_k value " + std::to_string(k) + " is not positive");
}

void TaggingEvaluator::reset() {
  n_ = 0;
  c_ = -1;
  scores_.clear();
  targets_.clear();
  class_ap_.clear();
}

void TaggingEvaluator::update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) {
  if (predictions.size() != targets.size())
    throw RuntimeError("TaggingEvaluator::update: " + std::to_string(predictions.size()) + " predictions for " +
                       std::to_string(targets.size()) + " targets");
  for (size_t i = 0; i < predictions.size(); ++i) {
    const Prediction& p = predictions[i];
    const Target& t = targets[i];
    const std::string img = "tagging evaluation: image " + std::to_string(t.image_id);
    if (p.image_id >= 0 && t.image_id >= 0 && p.image_id != t.image_id)
      throw DataError(img + " is paired with the prediction for image " + std::to_string(p.image_id));
    if (!p.tag_scores.defined()) throw DataError(img + ": the prediction has no tag_scores");
    if (!t.tags.defined()) throw DataError(img + ": the target has no tags");
    const torch::Tensor s = flat(p.tag_scores), g = flat(t.tags);
    const int64_t c = s.numel();
    if (g.numel() != c)
      throw DataError(img + ": " + std::to_string(c) + " tag scores for " + std::to_string(g.numel()) + " tags");
    if (c_ >= 0 && c != c_)
      throw DataError(img + ": " + std::to_string(c) + " tag scores, earlier images had " + std::to_string(c_));
    if (options_.thresholds.size() != 1 && static_cast<int64_t>(options_.thresholds.size()) != c)
      throw ConfigError("tagging evaluator: " + std::to_string(options_.thresholds.size()) + " thresholds for " +
                        std::to_string(c) + " classes (give 1 or one per class)");
    const float* sp = s.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    for (int64_t j = 0; j < c; ++j)
      if (!std::isfinite(sp[j])) throw DataError(img + ": tag score " + std::to_string(j) + " is not finite");
    c_ = c;
    scores_.insert(scores_.end(), sp, sp + c);
    targets_.insert(targets_.end(), gp, gp + c);
    ++n_;
  }
}

Metrics TaggingEvaluator::compute() {
  Metrics m;
  const int64_t c = c_ < 0 ? 0 : c_;
  class_ap_ = tagging_ap(scores_, targets_, n_, c);
  m.emplace_back("tag/mAP", tagging_map(class_ap_));
  // Nothing seen: the per-class list cannot match 0 classes, and every count is 0 anyway.
  const std::vector<double> thr = c > 0 ? options_.thresholds : std::vector<double>{options_.thresholds[0]};
  append_scores(m, tagging_at_threshold(scores_, targets_, n_, c, thr), "");
  for (int64_t k : options_.top_k)
    append_scores(m, tagging_top_k(scores_, targets_, n_, c, k), "@top" + std::to_string(k));
  return m;
}

}  // namespace seer::eval
