#pragma once
// DETR's SetCriterion: match each decoder layer's predictions to the targets
// (HungarianMatcher), then
//   loss_ce    cross-entropy over all queries, unmatched -> no-object, class
//              weights (1, ..., 1, eos_coef); a WEIGHTED mean, i.e.
//              sum(w_i l_i) / sum(w_i), as F.cross_entropy(weight=) computes;
//              or, with `focal`, Deformable DETR's sigmoid focal loss
//              (mean over queries, sum, / num_boxes, times num_queries);
//              or, with the Token matcher cost (grounding), Open-GroundingDino's
//              token-level sigmoid focal loss over valid text tokens, the
//              targets being the matched boxes' positive maps, / #matches;
//   loss_bbox  L1 of matched cxcywh boxes, summed / num_boxes;
//   loss_giou  1 - GIoU of matched boxes, summed / num_boxes;
//   loss_mask, loss_dice (final layer only, `masks` on): sigmoid focal and
//              Dice on matched masks, predictions bilinearly upsampled
//              (align_corners=False) to the batch-padded target size.
// Auxiliary layers repeat matching and losses with suffix "_i". Every entry
// is multiplied by its weight. class_error and cardinality_error are logging
// values (no gradient) and go to `logs` instead.
// num_boxes = number of target boxes in the batch, clamped to >= 1; a
// distributed trainer passes the all-reduced mean instead.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/types.h"
#include "losses/detr_target.h"
#include "losses/hungarian_matcher.h"

namespace seer {

struct SetCriterionOptions {
  int64_t num_classes = 91;  // without no-object; softmax logits have num_classes + 1 columns
  double eos_coef = 0.1;
  bool focal = false;  // sigmoid focal classification; logits have num_classes columns
  // matcher.class_cost == ClassCost::Token selects the grounding variant:
  // logits are [B, Q, T] token logits and every target needs positive_map [N, T]
  // (Open-GroundingDino weights: ce 2, bbox 5, giou 2; matcher 1, 5, 2).
  double focal_alpha = 0.25;
  double focal_gamma = 2.0;
  bool masks = false;
  // Loss weights (DETR: 1, 5, 2, 1, 1; Deformable DETR: ce 2).
  double weight_ce = 1.0;
  double weight_bbox = 5.0;
  double weight_giou = 2.0;
  double weight_mask = 1.0;
  double weight_dice = 1.0;
  HungarianMatcherOptions matcher;
};

// One decoder layer's raw predictions.
struct DetrOutput {
  torch::Tensor logits;  // [B, Q, C]
  torch::Tensor boxes;   // [B, Q, 4] normalised cxcywh (sigmoid output)
  torch::Tensor masks;   // [B, Q, h, w] mask logits, final layer with masks only
  torch::Tensor text_mask;  // [B, T] bool, grounding (Token cost): true = real token
};

class SetCriterion {
 public:
  explicit SetCriterion(SetCriterionOptions options = {});

  // `aux`: the intermediate decoder layers in order (suffixes _0, _1, ...).
  // num_boxes < 0: use this batch's target count.
  LossDict operator()(const DetrOutput& out, const std::vector<DetrOutput>& aux,
                      const std::vector<DetrTarget>& targets, LossDict* logs = nullptr,
                      double num_boxes = -1) const;

  // The losses of one layer given its matches (no weights, no suffix).
  LossDict layer_losses(const DetrOutput& out, const std::vector<DetrTarget>& targets,
                        const std::vector<MatchIndices>& matches, double num_boxes, bool with_masks,
                        LossDict* logs, const std::string& log_suffix) const;

  const SetCriterionOptions& options() const { return options_; }

 private:
  SetCriterionOptions options_;
};

}  // namespace seer
