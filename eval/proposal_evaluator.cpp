#include "eval/proposal_evaluator.h"

#include <torch/torch.h>

#include "core/error.h"
#include "eval/proposal_metrics.h"

namespace seer::eval {

namespace {

// Every label becomes class 0 of a one-category table.
torch::Tensor agnostic(int64_t n) { return torch::zeros({n}, torch::kLong); }

}  // namespace

ProposalEvaluator::ProposalEvaluator(ProposalEvaluatorOptions options) : options_(std::move(options)) {
  if (options_.ks.empty()) throw ConfigError("proposal evaluator: ks is empty");
  for (int k : options_.ks)
    if (k <= 0) throw ConfigError("proposal evaluator: proposal budget " + std::to_string(k) + " is not positive");
  reset();
}

void ProposalEvaluator::reset() {
  CategoryTable one;
  one.add(1, "object");
  CocoEvaluatorOptions o;
  o.iou_type = IouType::Bbox;
  o.use_cats = false;
  o.num_threads = options_.num_threads;
  collector_ = std::make_unique<CocoEvaluator>(std::move(one), o);
}

void ProposalEvaluator::update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) {
  if (predictions.size() != targets.size())
    throw RuntimeError("ProposalEvaluator::update: " + std::to_string(predictions.size()) + " predictions for " +
                       std::to_string(targets.size()) + " targets");
  std::vector<Prediction> preds(predictions);  // shallow copies: only the labels change
  std::vector<Target> gts(targets);
  for (size_t i = 0; i < preds.size(); ++i) {
    const Prediction& p = predictions[i];
    const Target& t = targets[i];
    if (p.image_id >= 0 && t.image_id >= 0 && p.image_id != t.image_id)
      throw DataError("proposal evaluation: image " + std::to_string(t.image_id) +
                      " is paired with the prediction for image " + std::to_string(p.image_id));
    const int64_t k = p.boxes.defined() ? p.boxes.size(0) : 0;
    if (k > 0 && (!p.scores.defined() || p.scores.numel() != k))
      throw DataError("proposal evaluation: image " + std::to_string(t.image_id) + ": " + std::to_string(k) +
                      " proposals but " + std::to_string(p.scores.defined() ? p.scores.numel() : 0) + " scores");
    preds[i].labels = agnostic(k);
    gts[i].labels = agnostic(t.num_boxes());
    gts[i].masks = torch::Tensor();  // boxes only
  }
  collector_->update(preds, gts);
}

Metrics ProposalEvaluator::compute() {
  // Built from the targets, the ground truth holds exactly the images seen.
  const CocoDataset& gt = collector_->ground_truth();
  Metrics out;
  for (auto& [name, v] : proposal_recall(gt, collector_->detections(), options_.ks, options_.num_threads))
    out.emplace_back("proposal/" + name, v);
  return out;
}

}  // namespace seer::eval
