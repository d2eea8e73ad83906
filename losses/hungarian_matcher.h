#pragma once
// The DETR-family bipartite matcher: per image, one prediction per target at
// minimum total cost
//   C = cost_bbox * L1(cxcywh) + cost_class * class_cost + cost_giou * (-GIoU(xyxy)),
// solved exactly with seer::linear_sum_assignment.
//
// Defaults are DETR's (softmax class cost; 1, 5, 2). Deformable DETR / DINO
// use the focal class cost with (2, 5, 2); Grounding DINO uses the token cost
// with (1, 5, 2) in Open-GroundingDino and (2, 5, 2) in mmdetection.
#include <torch/torch.h>

#include <vector>

#include "losses/set_target.h"

namespace seer {

enum class ClassCost { Softmax, Focal, Token };

struct HungarianMatcherOptions {
  ClassCost class_cost = ClassCost::Softmax;
  double cost_class = 1.0;
  double cost_bbox = 5.0;
  double cost_giou = 2.0;
  double focal_alpha = 0.25;  // Focal and Token costs
  double focal_gamma = 2.0;
};

// Matched (prediction, target) indices of one image, int64 [K] each, sorted by
// prediction index as scipy returns them.
struct MatchIndices {
  torch::Tensor pred;
  torch::Tensor target;
};

// logits [B, Q, C] (Softmax: C = classes + 1 with no-object last; Focal: C =
// classes; Token: C = text tokens), boxes [B, Q, 4] normalised cxcywh,
// targets.size() == B (Token cost needs SetTarget::positive_map [N, C]).
// Runs without gradient. Bad shapes, non-finite values, labels out of range
// and boxes with negative size are seer::RuntimeError.
std::vector<MatchIndices> hungarian_match(const torch::Tensor& logits, const torch::Tensor& boxes,
                                          const std::vector<SetTarget>& targets,
                                          const HungarianMatcherOptions& options = {});

// hungarian_match without its input checks, for callers that ran them once for
// several matchings (SetCriterion checks every decoder layer's predictions in
// one host sync and the targets once, then matches layer by layer).
std::vector<MatchIndices> hungarian_match_checked(const torch::Tensor& logits, const torch::Tensor& boxes,
                                                  const std::vector<SetTarget>& targets,
                                                  const HungarianMatcherOptions& options = {});

// The matcher's input checks (seer::RuntimeError, one line naming the problem):
// predictions: logits [B, Q, C] and boxes [B, Q, 4] per layer, no NaN (logits
// may be -inf), boxes finite with non-negative size, B == batch; all layers in
// one host sync.
void check_match_predictions(const std::vector<torch::Tensor>& logits, const std::vector<torch::Tensor>& boxes,
                             int64_t batch);
// targets: boxes [N, 4] and labels [N] each, finite boxes with non-negative
// size, labels in range for num_logits (Softmax: num_logits - 1 classes), the
// Token cost's positive maps [N, num_logits].
void check_match_targets(const std::vector<SetTarget>& targets, int64_t num_logits,
                         const HungarianMatcherOptions& options);

// The full cost matrix [B, Q, sum N] the matcher solves blocks of (for tests
// and for inspection).
torch::Tensor hungarian_cost(const torch::Tensor& logits, const torch::Tensor& boxes,
                             const std::vector<SetTarget>& targets, const HungarianMatcherOptions& options = {});

}  // namespace seer
