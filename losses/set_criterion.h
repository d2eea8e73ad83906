#pragma once
// The set-prediction criterion of the DETR family: match each decoder layer's
// predictions to the targets (hungarian_matcher.h), compute the loss terms of
// set_loss_terms.h, multiply each by its weight and suffix the intermediate
// layers' terms with "_i":
//   loss_ce               the classification term chosen by `classification`:
//                         Softmax (DETR, no-object weight eos_coef), Focal
//                         (Deformable DETR) or Token (Open-GroundingDino's
//                         token-level focal loss over valid text tokens);
//   loss_bbox, loss_giou  L1 and 1 - GIoU of matched boxes;
//   loss_mask, loss_dice  final layer only, with `masks`.
// class_error and cardinality_error are logging values (no gradient) written
// to `logs` (Softmax and Focal only; Open-GroundingDino logs neither).
// num_boxes = number of target boxes in the batch, clamped to >= 1; a
// distributed caller passes the all-reduced mean instead.
//
// Further outputs (two-stage encoder proposals, denoising queries) are more
// terms: match them with match() or their own assignment, then weighted(terms(...), suffix).
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/types.h"
#include "losses/hungarian_matcher.h"
#include "losses/set_loss_terms.h"
#include "losses/set_target.h"

namespace seer {

enum class Classification {
  Softmax,  // logits [B, Q, num_classes + 1], no-object last; softmax matching cost
  Focal,    // logits [B, Q, num_classes]; focal matching cost
  Token,    // logits [B, Q, T] over text tokens; targets need positive_map [N, T]
};

struct SetCriterionOptions {
  int64_t num_classes = 91;  // without no-object (Token: unused)
  Classification classification = Classification::Softmax;
  double eos_coef = 0.1;     // Softmax: cross-entropy weight of no-object
  double focal_alpha = 0.25;  // Focal and Token: loss and matching cost
  double focal_gamma = 2.0;
  bool masks = false;
  // Matching costs (DETR 1, 5, 2; Deformable DETR 2, 5, 2; Open-GroundingDino 1, 5, 2).
  double cost_class = 1.0;
  double cost_bbox = 5.0;
  double cost_giou = 2.0;
  // The weight of every term by name (DETR: 1, 5, 2, 1, 1; Deformable DETR and
  // Open-GroundingDino: loss_ce 2). A name that is not a term is an error.
  std::map<std::string, double> weights = {
      {"loss_ce", 1.0}, {"loss_bbox", 5.0}, {"loss_giou", 2.0}, {"loss_mask", 1.0}, {"loss_dice", 1.0}};
};

// The matcher settings a criterion's options imply.
HungarianMatcherOptions matcher_options(const SetCriterionOptions& options);

class SetCriterion {
 public:
  // Throws seer::RuntimeError for a weight name that is no term or a negative weight.
  explicit SetCriterion(SetCriterionOptions options = {});

  // `aux`: the intermediate decoder layers in order (suffixes _0, _1, ...).
  // num_boxes < 0: use this batch's target count. Inputs are checked once for
  // all layers (one host sync for the predictions, one for the targets).
  LossDict operator()(const SetPrediction& out, const std::vector<SetPrediction>& aux,
                      const std::vector<SetTarget>& targets, LossDict* logs = nullptr,
                      double num_boxes = -1) const;

  // Checks the targets and every given layer's predictions (what operator() does first).
  void check_inputs(const std::vector<const SetPrediction*>& layers, const std::vector<SetTarget>& targets) const;
  // Matching of one layer whose inputs are checked.
  std::vector<MatchIndices> match(const SetPrediction& pred, const std::vector<SetTarget>& targets) const;
  // The unweighted terms of one layer given its matches; logging values go to
  // `logs` with `log_suffix` (class_error of the final layer only).
  LossDict terms(const SetPrediction& pred, const std::vector<SetTarget>& targets,
                 const std::vector<MatchIndices>& matches, double num_boxes, bool with_masks, LossDict* logs,
                 const std::string& log_suffix) const;
  // Every term times its weight, names suffixed.
  LossDict weighted(const LossDict& terms, const std::string& suffix) const;

  const SetCriterionOptions& options() const { return options_; }

 private:
  SetCriterionOptions options_;
  HungarianMatcherOptions matcher_;
};

}  // namespace seer
