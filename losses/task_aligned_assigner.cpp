#include "losses/task_aligned_assigner.h"

#include "core/error.h"
#include "losses/check.h"
#include "ops/box_ops.h"

namespace seer {

namespace {
constexpr const char* kFn = "task_aligned_assign";

void validate(const torch::Tensor& pb, const torch::Tensor& ps, const torch::Tensor& priors, const torch::Tensor& gl,
              const torch::Tensor& gb, const torch::Tensor& gv, const TaskAlignedAssignerOptions& o) {
  check::dims(pb, 3, kFn, "pred_boxes");
  check::dims(ps, 3, kFn, "pred_scores");
  check::dims(priors, 2, kFn, "priors");
  check::dims(gl, 2, kFn, "gt_labels");
  check::dims(gb, 3, kFn, "gt_boxes");
  check::dims(gv, 2, kFn, "gt_valid");
  const int64_t B = pb.size(0), A = pb.size(1), G = gb.size(1);
  if (pb.size(2) != 4 || ps.size(0) != B || ps.size(1) != A || ps.size(2) != o.num_classes || priors.size(0) != A ||
      priors.size(1) < 2 || gb.size(0) != B || gb.size(2) != 4 || gl.size(0) != B || gl.size(1) != G ||
      gv.size(0) != B || gv.size(1) != G)
    throw RuntimeError(std::string(kFn) + ": inconsistent shapes: pred_boxes " + check::shape(pb) + ", pred_scores " +
                       check::shape(ps) + " (num_classes " + std::to_string(o.num_classes) + "), priors " +
                       check::shape(priors) + ", gt_labels " + check::shape(gl) + ", gt_boxes " + check::shape(gb) +
                       ", gt_valid " + check::shape(gv));
  check::finite(pb, kFn, "pred_boxes");
  check::finite(ps, kFn, "pred_scores");
  if (G > 0) {
    auto valid = gv.to(torch::kBool);
    auto lab = gl.masked_select(valid);
    check::labels_in_range(lab, o.num_classes, kFn);
    box::check_xyxy(gb.index({valid}), std::string(kFn) + " gt_boxes");
  }
}
}  // namespace

TaskAlignedAssignment task_aligned_assign(const torch::Tensor& pred_boxes, const torch::Tensor& pred_scores,
                                          const torch::Tensor& priors, const torch::Tensor& gt_labels,
                                          const torch::Tensor& gt_boxes, const torch::Tensor& gt_valid,
                                          const TaskAlignedAssignerOptions& o) {
  validate(pred_boxes, pred_scores, priors, gt_labels, gt_boxes, gt_valid, o);
  torch::NoGradGuard no_grad;
  const int64_t B = pred_boxes.size(0), A = pred_boxes.size(1), G = gt_boxes.size(1), C = o.num_classes;
  auto fopts = pred_boxes.options();
  TaskAlignedAssignment r;
  if (G == 0) {
    r.labels = torch::full({B, A}, C, fopts.dtype(torch::kLong));
    r.boxes = torch::zeros({B, A, 4}, fopts);
    r.scores = torch::zeros({B, A, C}, fopts);
    r.fg_mask = torch::zeros({B, A}, fopts.dtype(torch::kBool));
    r.gt_index = torch::zeros({B, A}, fopts.dtype(torch::kLong));
    return r;
  }
  auto labels = gt_labels.to(torch::kLong);
  // Padding rows may carry any label; only real ones were range-checked.
  auto valid = gt_valid.to(fopts.dtype()).unsqueeze(-1);  // [B, G, 1]
  auto safe_labels = torch::where(gt_valid.to(torch::kBool), labels, torch::zeros_like(labels)).clamp(0, C - 1);

  // ---- alignment metric [B, G, A]
  auto score_of_gt = pred_scores.permute({0, 2, 1}).gather(1, safe_labels.unsqueeze(-1).expand({B, G, A}));
  auto overlaps = box::complete_iou(pred_boxes.unsqueeze(1), gt_boxes.to(fopts.dtype()).unsqueeze(2)).clamp_min(0);
  auto align = score_of_gt.pow(o.alpha) * overlaps.pow(o.beta);

  // ---- candidates: prior centre strictly inside the gt box
  auto px = priors.select(1, 0).to(fopts.dtype()).view({1, 1, A});
  auto py = priors.select(1, 1).to(fopts.dtype()).view({1, 1, A});
  auto g = gt_boxes.to(fopts.dtype());
  auto gx1 = g.select(2, 0).unsqueeze(-1), gy1 = g.select(2, 1).unsqueeze(-1);
  auto gx2 = g.select(2, 2).unsqueeze(-1), gy2 = g.select(2, 3).unsqueeze(-1);
  auto delta = torch::min(torch::min(px - gx1, py - gy1), torch::min(gx2 - px, gy2 - py));
  auto in_gt = (delta > 1e-9).to(fopts.dtype());  // [B, G, A]

  // ---- top-k per gt. Padded gts point all k picks at prior 0, and a prior
  // picked more than once is dropped, exactly as the reference does.
  const int64_t k = std::min(o.topk, A);
  auto topk_idx = std::get<1>((align * in_gt).topk(k, -1, true));  // [B, G, k]
  auto pad = gt_valid.to(torch::kBool).unsqueeze(-1).expand({B, G, k});
  topk_idx = torch::where(pad, topk_idx, torch::zeros_like(topk_idx));
  auto counts = torch::zeros({B, G, A}, topk_idx.options()).scatter_add_(2, topk_idx, torch::ones_like(topk_idx));
  auto in_topk = torch::where(counts > 1, torch::zeros_like(counts), counts).to(fopts.dtype());
  auto pos = in_topk * in_gt * valid;  // [B, G, A]

  // ---- a prior claimed by several gts keeps the one it overlaps most
  auto fg = pos.sum(-2);  // [B, A]
  if (fg.max().item<double>() > 1) {
    auto multi = (fg.unsqueeze(1) > 1).expand({B, G, A});
    auto best = overlaps.argmax(1);  // [B, A]
    auto is_best = torch::nn::functional::one_hot(best, G).permute({0, 2, 1}).to(fopts.dtype());
    pos = torch::where(multi, is_best, pos);
    fg = pos.sum(-2);
  }
  auto gt_idx = pos.argmax(-2);  // [B, A]

  // ---- targets
  auto flat_idx = gt_idx + torch::arange(B, gt_idx.options()).unsqueeze(-1) * G;
  r.labels = labels.flatten().index_select(0, flat_idx.flatten()).view({B, A});
  r.boxes = g.reshape({-1, 4}).index_select(0, flat_idx.flatten()).view({B, A, 4});
  r.labels = r.labels.clamp_min(0);
  auto scores = torch::nn::functional::one_hot(r.labels.clamp_max(C - 1), C).to(fopts.dtype());
  scores = scores * (fg > 0).unsqueeze(-1).to(fopts.dtype());

  // ---- soft score: alignment normalised per gt to its best IoU
  align = align * pos;
  auto max_align = std::get<0>(align.max(-1, true));             // [B, G, 1]
  auto max_iou = std::get<0>((overlaps * pos).max(-1, true));    // [B, G, 1]
  auto norm = std::get<0>((align * max_iou / (max_align + o.eps)).max(-2));  // [B, A]
  r.scores = scores * norm.unsqueeze(-1);
  r.fg_mask = fg > 0;
  r.gt_index = gt_idx;
  return r;
}

}  // namespace seer
