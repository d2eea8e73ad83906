#include "losses/yolo_losses.h"

#include <algorithm>

#include "core/error.h"
#include "losses/check.h"
#include "ops/box_ops.h"

namespace seer {

torch::Tensor soft_bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets) {
  constexpr const char* fn = "soft_bce_with_logits";
  check::same_shape(logits, targets, fn, "logits", "targets");
  check::finite(logits, fn, "logits");
  return torch::binary_cross_entropy_with_logits(logits, targets.to(logits.dtype()), {}, {}, at::Reduction::None);
}

torch::Tensor ciou_loss(const torch::Tensor& pred, const torch::Tensor& target, double eps) {
  constexpr const char* fn = "ciou_loss";
  check::same_shape(pred, target, fn, "pred", "target");
  check::finite(pred, fn, "pred");
  box::check_xyxy(target, std::string(fn) + " target");
  return 1 - box::complete_iou(pred, target, eps);
}

torch::Tensor distribution_focal_loss(const torch::Tensor& pred, const torch::Tensor& target) {
  constexpr const char* fn = "distribution_focal_loss";
  check::dims(pred, 2, fn, "pred");
  check::dims(target, 1, fn, "target");
  if (pred.size(0) != target.size(0))
    throw RuntimeError(std::string(fn) + ": pred " + check::shape(pred) + " and target " + check::shape(target) +
                       " disagree on N");
  check::finite(pred, fn, "pred");
  const int64_t R = pred.size(1);
  if (target.numel() > 0) {
    auto lo = target.min().item<double>(), hi = target.max().item<double>();
    if (!(lo >= 0) || !(hi < static_cast<double>(R - 1)))
      throw RuntimeError(std::string(fn) + ": target distances must lie in [0, " + std::to_string(R - 1) +
                         "), got [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  auto t = target.to(pred.dtype());
  auto left = t.to(torch::kLong);  // truncation, as label.long()
  auto right = left + 1;
  auto w_left = right.to(pred.dtype()) - t;
  auto w_right = t - left.to(pred.dtype());
  auto logp = pred.log_softmax(-1);
  auto ce_left = -logp.gather(1, left.unsqueeze(1)).squeeze(1);
  auto ce_right = -logp.gather(1, right.unsqueeze(1)).squeeze(1);
  return ce_left * w_left + ce_right * w_right;
}

torch::Tensor bbox_to_distance(const torch::Tensor& points, const torch::Tensor& boxes, double max_dis, double eps) {
  auto px = points.select(-1, 0), py = points.select(-1, 1);
  auto d = torch::stack({px - boxes.select(-1, 0), py - boxes.select(-1, 1), boxes.select(-1, 2) - px,
                         boxes.select(-1, 3) - py},
                        -1);
  if (max_dis > 0) d = d.clamp(0, max_dis - eps);
  return d;
}

LossDict yolov8_loss(const torch::Tensor& cls_logits, const torch::Tensor& dist_logits, const torch::Tensor& priors,
                     const torch::Tensor& gt_labels, const torch::Tensor& gt_boxes, const torch::Tensor& gt_valid,
                     const YoloV8LossOptions& o, int64_t world_size) {
  constexpr const char* fn = "yolov8_loss";
  check::dims(cls_logits, 3, fn, "cls_logits");
  check::dims(dist_logits, 3, fn, "dist_logits");
  check::dims(priors, 2, fn, "priors");
  const int64_t B = cls_logits.size(0), A = cls_logits.size(1), R = o.reg_max;
  if (dist_logits.size(0) != B || dist_logits.size(1) != A || dist_logits.size(2) != 4 * R || priors.size(0) != A ||
      priors.size(1) != 4)
    throw RuntimeError(std::string(fn) + ": cls_logits " + check::shape(cls_logits) + ", dist_logits " +
                       check::shape(dist_logits) + " (want [B, A, " + std::to_string(4 * R) + "]) and priors " +
                       check::shape(priors) + " (want [A, 4]) disagree");
  check::finite(cls_logits, fn, "cls_logits");
  check::finite(dist_logits, fn, "dist_logits");

  // Expected distance per side from the softmax over bins, in stride units.
  auto proj = torch::arange(R, dist_logits.options());
  auto ltrb = torch::matmul(dist_logits.view({B, A, 4, R}).softmax(-1), proj);  // [B, A, 4]
  auto stride = priors.select(1, 2).to(dist_logits.dtype()).view({1, A, 1});
  auto centre = priors.narrow(1, 0, 2).to(dist_logits.dtype()).unsqueeze(0);  // [1, A, 2]
  auto d = ltrb * stride;
  auto pred_boxes = torch::cat({centre - d.narrow(2, 0, 2), centre + d.narrow(2, 2, 2)}, -1);  // [B, A, 4] pixels

  auto assigned = task_aligned_assign(pred_boxes.detach(), cls_logits.detach().sigmoid(), priors, gt_labels,
                                      gt_boxes.to(dist_logits.dtype()), gt_valid, o.assigner);
  auto score_sum = assigned.scores.sum().clamp_min(1);

  LossDict out;
  auto loss_cls = soft_bce_with_logits(cls_logits, assigned.scores).sum() / score_sum;

  auto fg = assigned.fg_mask;
  torch::Tensor loss_bbox, loss_dfl;
  if (fg.sum().item<int64_t>() > 0) {
    auto pred_pos = (pred_boxes / stride).index({fg});             // [P, 4]
    auto gt_scaled = assigned.boxes / stride;                       // [B, A, 4]
    auto gt_pos = gt_scaled.index({fg});
    auto weight = assigned.scores.sum(-1).index({fg});              // [P]
    loss_bbox = (ciou_loss(pred_pos, gt_pos) * weight).sum() / score_sum;

    auto target_ltrb = bbox_to_distance((centre / stride).expand({B, A, 2}), gt_scaled, R - 1, 0.01);
    auto dist_pos = dist_logits.index({fg}).reshape({-1, R});       // [P*4, R]
    auto t_pos = target_ltrb.index({fg}).reshape({-1});
    auto w4 = weight.unsqueeze(-1).expand({-1, 4}).reshape({-1});
    // mmdet's avg_factor reduction divides by (avg_factor + float32 eps).
    loss_dfl = (distribution_focal_loss(dist_pos, t_pos) * w4).sum() / (score_sum + 1.1920928955078125e-07);
  } else {
    loss_bbox = pred_boxes.sum() * 0;
    loss_dfl = pred_boxes.sum() * 0;
  }
  const double scale = static_cast<double>(B * std::max<int64_t>(world_size, 1));
  out.insert("loss_cls", loss_cls * o.weight_cls * scale);
  out.insert("loss_bbox", loss_bbox * o.weight_bbox * scale);
  out.insert("loss_dfl", loss_dfl * o.weight_dfl * scale);
  return out;
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> pad_targets(const std::vector<Target>& targets) {
  const int64_t B = static_cast<int64_t>(targets.size());
  torch::Device device = torch::kCPU;  // the targets' (they follow the images to the GPU)
  for (const auto& t : targets)
    if (t.boxes.defined()) {
      device = t.boxes.device();
      break;
    }
  const auto lopts = torch::TensorOptions().dtype(torch::kLong).device(device);
  std::vector<torch::Tensor> keep(B);
  int64_t G = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto& t = targets[b];
    const int64_t n = t.num_boxes();
    if (n == 0) {
      keep[b] = torch::zeros({0}, lopts);
      continue;
    }
    box::check_xyxy(t.boxes, "pad_targets(image " + std::to_string(t.image_id) + ")");
    keep[b] = (t.iscrowd.defined() && t.iscrowd.numel() == n) ? (t.iscrowd.to(torch::kLong) == 0).nonzero().squeeze(1)
                                                              : torch::arange(n, lopts);
    G = std::max(G, keep[b].size(0));
  }
  auto labels = torch::zeros({B, G}, lopts);
  auto boxes = torch::zeros({B, G, 4}, lopts.dtype(torch::kFloat32));
  auto valid = torch::zeros({B, G}, lopts.dtype(torch::kFloat32));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = keep[b].size(0);
    if (n == 0) continue;
    labels[b].narrow(0, 0, n).copy_(targets[b].labels.index_select(0, keep[b]));
    boxes[b].narrow(0, 0, n).copy_(targets[b].boxes.index_select(0, keep[b]));
    valid[b].narrow(0, 0, n).fill_(1);
  }
  return {labels, boxes, valid};
}

}  // namespace seer
