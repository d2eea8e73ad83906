#pragma once
// Box conversions and overlaps, with the semantics of torchvision.ops
// (box_area, box_iou, generalized_box_iou, box_convert) and, for CIoU, of
// mmyolo's bbox_overlaps(iou_mode='ciou') which YOLOv8 / YOLO-World train with.
// All functions are differentiable tensor code; boxes are [..., 4].
#include <torch/torch.h>

#include <string>

namespace seer::box {

torch::Tensor cxcywh_to_xyxy(const torch::Tensor& b);  // (cx, cy, w, h) -> (x1, y1, x2, y2)
torch::Tensor xyxy_to_cxcywh(const torch::Tensor& b);  // (x1, y1, x2, y2) -> (cx, cy, w, h)

torch::Tensor area(const torch::Tensor& xyxy);  // [..., 4] -> [...]

// Pairwise [N,4] x [M,4] -> [N,M]. As in torchvision, two zero-area boxes give
// 0/0 (NaN) IoU; a zero-area box against a proper box gives 0.
torch::Tensor iou(const torch::Tensor& a, const torch::Tensor& b);
torch::Tensor generalized_iou(const torch::Tensor& a, const torch::Tensor& b);

// Elementwise (broadcasting) GIoU: equals the diagonal of generalized_iou.
torch::Tensor generalized_iou_elementwise(const torch::Tensor& a, const torch::Tensor& b);

// Elementwise (broadcasting) complete IoU of xyxy boxes as YOLOv8 computes it:
// eps-stabilised union and heights, alpha = v / (v - iou + 1 + eps) without
// gradient, result clamped to [-1, 1].
torch::Tensor complete_iou(const torch::Tensor& pred, const torch::Tensor& target, double eps = 1e-7);

// Throws seer::RuntimeError naming `what` when a box has x2 < x1 or y2 < y1,
// or a non-finite coordinate.
void check_xyxy(const torch::Tensor& xyxy, const std::string& what);

}  // namespace seer::box
