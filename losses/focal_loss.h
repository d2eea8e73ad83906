#pragma once
// Sigmoid focal loss and Dice loss, the two mask / dense classification terms
// of the DETR family, plus the token-level focal loss of Grounding DINO.
#include <torch/torch.h>

namespace seer {

enum class Reduction { None, Mean, Sum };

// torchvision.ops.sigmoid_focal_loss:
//   ce = BCEWithLogits(x, t); p_t = p t + (1-p)(1-t);
//   loss = ce (1 - p_t)^gamma, times alpha t + (1-alpha)(1-t) when alpha >= 0.
// `targets` may be soft (in [0, 1]).
torch::Tensor sigmoid_focal_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double alpha = 0.25,
                                 double gamma = 2.0, Reduction reduction = Reduction::None);

// DETR's Dice loss on mask logits [N, ...] and binary targets [N, ...]:
//   1 - (2 sum(p t) + 1) / (sum p + sum t + 1) per mask (p = sigmoid),
// summed over masks and divided by num_boxes.
torch::Tensor dice_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double num_boxes);

// Grounding DINO's token_sigmoid_binary_focal_loss (Open-GroundingDino):
// logits and targets [B, Q, T], text_mask [B, T] (true = real token). Only
// valid tokens count; the focal sum is divided by max(num_pos, 1), num_pos
// being the number of matched queries.
torch::Tensor token_sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                       const torch::Tensor& text_mask, double num_pos, double alpha = 0.25,
                                       double gamma = 2.0);

}  // namespace seer
