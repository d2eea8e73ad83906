#pragma once
// YOLOv8's batched Task-Aligned Assigner (TOOD), with the semantics of
// mmyolo's BatchTaskAlignedAssigner as YOLOv8 / YOLO-World configure it
// (topk 10, alpha 0.5, beta 6, eps 1e-9, CIoU overlaps):
//   align(g, a) = score(a, label_g)^alpha * CIoU(pred_a, gt_g).clamp(0)^beta
//   candidates  = priors whose centre is strictly inside gt g (min ltrb > 1e-9)
//   positives   = top-k of align among the candidates of each real gt
//   a prior positive for several gts keeps the one of largest CIoU
//   soft score  = one_hot(label) * max_g(align * max_iou_g / (max_align_g + eps))
#include <torch/torch.h>

namespace seer {

struct TaskAlignedAssignerOptions {
  int64_t num_classes = 80;
  int64_t topk = 10;
  double alpha = 0.5;
  double beta = 6.0;
  double eps = 1e-9;
};

struct TaskAlignedAssignment {
  torch::Tensor labels;   // [B, A] int64 (label of the assigned gt; for background priors that of gt 0, as mmyolo)
  torch::Tensor boxes;    // [B, A, 4] assigned gt box (xyxy)
  torch::Tensor scores;   // [B, A, C] soft one-hot targets (0 for background)
  torch::Tensor fg_mask;  // [B, A] bool
  torch::Tensor gt_index; // [B, A] int64 index of the assigned gt
};

// pred_boxes [B, A, 4] xyxy (decoded, detached), pred_scores [B, A, C]
// (sigmoid), priors [A, >=2] (centre x, y first), gt_labels [B, G] int64,
// gt_boxes [B, G, 4] xyxy, gt_valid [B, G] (1 = real box, 0 = padding).
// Runs without gradient. G == 0 assigns every prior to background.
TaskAlignedAssignment task_aligned_assign(const torch::Tensor& pred_boxes, const torch::Tensor& pred_scores,
                                          const torch::Tensor& priors, const torch::Tensor& gt_labels,
                                          const torch::Tensor& gt_boxes, const torch::Tensor& gt_valid,
                                          const TaskAlignedAssignerOptions& options = {});

}  // namespace seer
