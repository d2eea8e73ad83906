#pragma once
// An auxiliary dense head on the DETR encoder output, used only for training
// (off by default; the official DETR has no such head).
//
// Why: trained from scratch (no ImageNet backbone), DETR's object queries first
// collapse onto one prediction and the backbone receives only the weak,
// inconsistent gradient of a collapsed decoder, so it takes thousands of
// iterations before the memory tokens say what is where. Co-DETR (Zong et al.
// 2023) speeds DETR up by training auxiliary one-to-many heads on the encoder
// output; this is the simplest such head: every memory token predicts the class
// and the box of the object it lies in (FCOS-style assignment), so the tokens the
// decoder reads carry "which object, which box" from the first iterations.
//
// Assignment (per image, on the feature grid of the padded batch): a token is
// positive for an object when the token's cell centre lies inside the object's
// box, or when the cell contains the box centre (so small objects get one token);
// a token inside several boxes takes the smallest. Padding tokens are ignored.
// Losses: sigmoid focal classification over all valid tokens (alpha 0.25,
// gamma 2) divided by the number of positive tokens; L1 and 1 - GIoU of the
// positive tokens' normalised cxcywh boxes, divided by the same count.
// The head's parameters are named aux_dense.{class_embed, bbox_embed.layers.*}:
// an enabled head adds those keys to checkpoints and exports (predict and the
// traced module never run it).
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "core/types.h"
#include "ops/mlp.h"

namespace seer {

struct DenseAuxTargets {
  torch::Tensor classes;  // [B, h*w, C] float one-hot (all zero = background)
  torch::Tensor boxes;    // [B, h*w, 4] normalised cxcywh of the assigned object
  torch::Tensor positive; // [B, h*w] bool
  torch::Tensor valid;    // [B, h*w] bool (not padding)
};

// Builds the token targets. feat_mask [B, h, w] bool (true = padding);
// image_hw = the padded batch's (H, W); class_of_label maps each target's
// labels to model classes (identity when undefined).
DenseAuxTargets dense_aux_targets(const std::vector<Target>& targets, const torch::Tensor& feat_mask,
                                  std::array<int64_t, 2> image_hw, int64_t num_classes,
                                  const std::function<torch::Tensor(const torch::Tensor&)>& class_of_label);

class DenseAuxHeadImpl : public torch::nn::Module {
 public:
  DenseAuxHeadImpl(int64_t hidden_dim, int64_t num_classes);
  // memory [B, D, h, w] -> logits [B, h*w, C], boxes [B, h*w, 4] (sigmoid, cxcywh)
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& memory);

  torch::nn::Linear class_embed{nullptr};
  MLP bbox_embed{nullptr};
};
TORCH_MODULE(DenseAuxHead);

// The three loss terms (unweighted): {cls, l1, giou}, each divided by
// num_pos (the positive tokens of the batch, summed over data-parallel
// workers and divided by their number like DETR's num_boxes; >= 1).
std::array<torch::Tensor, 3> dense_aux_losses(const torch::Tensor& logits, const torch::Tensor& boxes,
                                              const DenseAuxTargets& t, double num_pos);

}  // namespace seer
