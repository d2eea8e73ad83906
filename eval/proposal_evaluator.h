#pragma once
// Class-agnostic proposal recall (UPN / ChatRex) as an Evaluator: every predicted
// box is a proposal and every ground-truth box a target, whatever their labels.
// Collection reuses CocoEvaluator (one category, bbox, ground truth built from the
// targets and mapped back to original pixels, crowd flags kept), so the
// same checks apply (non-finite boxes or scores -> DataError naming the image and
// detection); proposal_recall() scores what was collected.
//
// Metrics: "proposal/AR@k", "proposal/R50@k", "proposal/AR_<area>@k" for every k
// in options.ks (see eval/proposal_metrics.h).
#include <memory>
#include <string>
#include <vector>

#include "eval/coco_evaluator.h"
#include "eval/evaluator.h"

namespace seer::eval {

struct ProposalEvaluatorOptions {
  std::vector<int> ks{1, 10, 100, 300, 900};  // proposal budgets per image
  int num_threads = 0;                         // 0 = hardware concurrency
};

class ProposalEvaluator : public Evaluator {
 public:
  explicit ProposalEvaluator(ProposalEvaluatorOptions options = {});

  void reset() override;
  void update(const std::vector<Prediction>& predictions, const std::vector<Target>& targets) override;
  Metrics compute() override;

 private:
  ProposalEvaluatorOptions options_;
  std::unique_ptr<CocoEvaluator> collector_;
};

}  // namespace seer::eval
