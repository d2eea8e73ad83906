#pragma once
// The loss terms of set-prediction detectors (DETR, Deformable DETR, Grounding
// DINO, UPN) as free functions over one decoder layer's predictions and its
// matches. Each returns the UNWEIGHTED term; SetCriterion (set_criterion.h)
// weights, suffixes and sums them, and a model can add further outputs
// (encoder proposals, denoising queries) by calling the same functions with
// its own matches.
#include <torch/torch.h>

#include <vector>

#include "losses/hungarian_matcher.h"
#include "losses/set_target.h"

namespace seer {

// One decoder layer's raw predictions.
struct SetPrediction {
  torch::Tensor logits;     // [B, Q, C]
  torch::Tensor boxes;      // [B, Q, 4] normalised cxcywh (sigmoid output)
  torch::Tensor masks;      // [B, Q, h, w] mask logits (optional)
  torch::Tensor text_mask;  // [B, T] bool, token classification: true = real token
};

// Every match of a batch flattened: prediction (batch, query) and the matched
// target's label and box, on the predictions' device.
struct MatchedPairs {
  torch::Tensor batch;   // [K] long
  torch::Tensor query;   // [K] long
  torch::Tensor labels;  // [K] long
  torch::Tensor boxes;   // [K, 4] normalised cxcywh
  int64_t size() const { return query.size(0); }
};
MatchedPairs gather_matches(const std::vector<SetTarget>& targets, const std::vector<MatchIndices>& matches,
                            const torch::TensorOptions& box_options);

// DETR: cross-entropy over all queries, unmatched -> no-object (the last of
// num_classes + 1 logits), class weights (1, ..., 1, eos_coef); a WEIGHTED mean
// sum(w_i l_i) / sum(w_i), as F.cross_entropy(weight=) computes.
torch::Tensor softmax_ce_loss(const torch::Tensor& logits, const MatchedPairs& pairs, int64_t num_classes,
                              double eos_coef);

// Deformable DETR: sigmoid focal loss against one-hot targets (unmatched: all
// zeros) over num_classes logits, mean over queries, summed, / num_boxes, * Q.
torch::Tensor focal_class_loss(const torch::Tensor& logits, const MatchedPairs& pairs, double num_boxes,
                               double alpha, double gamma);

// Open-GroundingDino: token-level sigmoid focal loss over the valid tokens of
// text_mask [B, T]; matched queries take their target's positive map as token
// targets; / the number of matches.
torch::Tensor token_class_loss(const torch::Tensor& logits, const torch::Tensor& text_mask,
                               const std::vector<SetTarget>& targets, const std::vector<MatchIndices>& matches,
                               double alpha, double gamma);

// L1 of matched cxcywh boxes and 1 - GIoU, each summed / num_boxes: {l1, giou}.
std::array<torch::Tensor, 2> box_losses(const torch::Tensor& boxes, const MatchedPairs& pairs, double num_boxes);

// DETR segmentation: sigmoid focal (alpha 0.25, gamma 2, mean over pixels) and
// Dice of the matched masks, the predictions bilinearly upsampled
// (align_corners=False) to the batch's zero-padded target size; each / num_boxes:
// {focal, dice}. Without matches both are 0 with a gradient path.
std::array<torch::Tensor, 2> mask_losses(const torch::Tensor& masks, const std::vector<SetTarget>& targets,
                                         const std::vector<MatchIndices>& matches, const MatchedPairs& pairs,
                                         double num_boxes);

// Logging values (no gradient). class_error: 100 - top-1 accuracy (%) of the
// matched queries (100 without matches, as DETR's accuracy() of an empty batch).
torch::Tensor class_error(const torch::Tensor& logits, const MatchedPairs& pairs);
// Mean over images of |#queries whose argmax is not the last logit - #targets|.
torch::Tensor cardinality_error(const torch::Tensor& logits, const std::vector<SetTarget>& targets);

}  // namespace seer
