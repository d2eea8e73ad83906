#pragma once
// What set-prediction matchers and criteria (DETR, Deformable DETR, Grounding
// DINO, UPN) consume: one image's non-crowd ground truth with boxes in
// normalised (cx, cy, w, h), as the official code builds it in its dataset
// transform (DESIGN.md §2: we do it inside the loss).
#include <torch/torch.h>

#include <vector>

#include "core/types.h"

namespace seer {

struct SetTarget {
  torch::Tensor labels;        // [N] int64
  torch::Tensor boxes;         // [N,4] float normalised cxcywh
  torch::Tensor masks;         // [N,H,W] optional (unpadded image size)
  torch::Tensor positive_map;  // [N,T] optional float, grounding: tokens of each box (0/1)
};

// Pixels xyxy -> [0,1] cxcywh using Target::size (h, w); drops crowd boxes
// (iscrowd == 1) together with their labels, masks and positive-map rows.
// Checks shapes, labels >= 0 and x2 >= x1, y2 >= y1 (seer::RuntimeError).
// `positive_map` is passed through row-filtered when given.
SetTarget to_set_target(const Target& target, const torch::Tensor& positive_map = {});
std::vector<SetTarget> to_set_targets(const std::vector<Target>& targets);

}  // namespace seer
