#pragma once
// The YOLOv8 / YOLO-World loss terms (mmyolo YOLOv8Head.loss_by_feat):
// region-text BCE on soft targets, CIoU box loss and Distribution Focal Loss,
// plus the composite that assigns with the Task-Aligned Assigner.
#include <torch/torch.h>

#include "core/types.h"
#include "losses/task_aligned_assigner.h"

namespace seer {

// Elementwise BCE-with-logits against soft targets in [0, 1] (mmdet
// CrossEntropyLoss(use_sigmoid=True, reduction='none')). Same shape out.
torch::Tensor soft_bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets);

// 1 - CIoU (mmyolo IoULoss, iou_mode 'ciou', xyxy, eps 1e-7) per box pair,
// [N, 4] x [N, 4] -> [N].
torch::Tensor ciou_loss(const torch::Tensor& pred, const torch::Tensor& target, double eps = 1e-7);

// Distribution Focal Loss (GFL; mmdet distribution_focal_loss) per row:
// pred [N, R] logits over the bins 0..R-1, target [N] float in [0, R-1):
//   CE(pred, floor(t)) * (floor(t) + 1 - t) + CE(pred, floor(t) + 1) * (t - floor(t)).
torch::Tensor distribution_focal_loss(const torch::Tensor& pred, const torch::Tensor& target);

// Distances (l, t, r, b) from points [N, 2] to boxes [N, 4] (xyxy), clamped to
// [0, max_dis - eps] (mmdet bbox2distance) when max_dis > 0.
torch::Tensor bbox_to_distance(const torch::Tensor& points, const torch::Tensor& boxes, double max_dis = -1,
                               double eps = 0.01);

struct YoloV8LossOptions {
  int64_t reg_max = 16;
  double weight_cls = 0.5;
  double weight_bbox = 7.5;
  double weight_dfl = 1.5 / 4;  // mmyolo sums DFL over the 4 sides; ultralytics averages with 1.5
  TaskAlignedAssignerOptions assigner;
};

// cls_logits [B, A, C] (region-text logits), dist_logits [B, A, 4 * reg_max],
// priors [A, 4] = (cx, cy, stride_w, stride_h) in pixels (offset 0.5),
// gt_labels [B, G], gt_boxes [B, G, 4] xyxy pixels, gt_valid [B, G].
// Returns loss_cls, loss_bbox, loss_dfl, each weighted and multiplied by
// B * world_size as mmyolo does.
LossDict yolov8_loss(const torch::Tensor& cls_logits, const torch::Tensor& dist_logits, const torch::Tensor& priors,
                     const torch::Tensor& gt_labels, const torch::Tensor& gt_boxes, const torch::Tensor& gt_valid,
                     const YoloV8LossOptions& options = {}, int64_t world_size = 1);

// Pads per-image targets to [B, G_max] tensors (crowd boxes dropped) for
// yolov8_loss: returns (labels, boxes xyxy pixels, valid).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> pad_targets(const std::vector<Target>& targets);

}  // namespace seer
