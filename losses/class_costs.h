#pragma once
// Classification costs of the DETR-family bipartite matchers. Each returns
// [P, N]: the cost of giving prediction p the target n (lower is better).
#include <torch/torch.h>

namespace seer {

// DETR: -softmax(logits)[:, label]. logits [P, C+1] (last = no-object).
torch::Tensor softmax_class_cost(const torch::Tensor& logits, const torch::Tensor& labels);

// Deformable DETR / DINO focal cost on sigmoid probabilities p:
//   pos = alpha (1-p)^gamma (-log(p + 1e-8)),  neg = (1-alpha) p^gamma (-log(1-p + 1e-8)),
//   cost = pos[:, label] - neg[:, label].   logits [P, C].
torch::Tensor focal_class_cost(const torch::Tensor& logits, const torch::Tensor& labels, double alpha = 0.25,
                               double gamma = 2.0);

// Grounding DINO (Open-GroundingDino matcher): the same focal pos - neg per
// token, averaged over each target's positive tokens:
//   cost = (pos - neg) @ (positive_map / positive_map.sum(-1)).T
// logits [P, T] token logits, positive_map [N, T]. A target without any
// positive token costs 0 (the official code turns its NaN column into 0).
torch::Tensor token_class_cost(const torch::Tensor& logits, const torch::Tensor& positive_map, double alpha = 0.25,
                               double gamma = 2.0);

}  // namespace seer
