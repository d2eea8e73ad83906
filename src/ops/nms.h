#pragma once
// Non-maximum suppression as torchvision.ops.nms / batched_nms define it:
// boxes in order of decreasing score, each kept unless its IoU with an already
// kept box is GREATER than the threshold. Used by YOLO-World's and UPN's
// postprocessing (class-wise or class-agnostic).
#include <torch/torch.h>

namespace seer {

// boxes [N, 4] xyxy, scores [N] -> indices [K] long of the kept boxes, by
// decreasing score (ties: the lower index first).
torch::Tensor nms(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold);

// NMS within each group of `groups` [N] (e.g. class labels): boxes of
// different groups never suppress each other. Same output order as nms().
torch::Tensor batched_nms(const torch::Tensor& boxes, const torch::Tensor& scores, const torch::Tensor& groups,
                          double iou_threshold);

}  // namespace seer
