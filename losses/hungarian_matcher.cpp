#include "losses/hungarian_matcher.h"

#include "core/error.h"
#include "losses/check.h"
#include "losses/class_costs.h"
#include "losses/hungarian.h"
#include "ops/box_ops.h"

namespace seer {

namespace {

constexpr const char* kFn = "hungarian_match";

// Costs with every input already checked.
torch::Tensor unchecked_cost(const torch::Tensor& logits, const torch::Tensor& boxes,
                             const std::vector<SetTarget>& targets, const HungarianMatcherOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t B = logits.size(0), Q = logits.size(1);
  std::vector<torch::Tensor> labels, tboxes, pmaps;
  for (const auto& t : targets) {
    labels.push_back(t.labels.to(torch::kLong));
    tboxes.push_back(t.boxes.to(boxes.dtype()));
    if (o.class_cost == ClassCost::Token) pmaps.push_back(t.positive_map.to(logits.dtype()));
  }
  auto tgt_ids = torch::cat(labels);
  auto tgt_box = torch::cat(tboxes);
  const int64_t N = tgt_box.size(0);
  if (N == 0) return torch::zeros({B, Q, 0}, logits.options());

  auto out_logits = logits.flatten(0, 1);  // [B*Q, C]
  auto out_box = boxes.flatten(0, 1);      // [B*Q, 4]
  torch::Tensor cost_class;
  switch (o.class_cost) {
    case ClassCost::Softmax: cost_class = softmax_class_cost(out_logits, tgt_ids); break;
    case ClassCost::Focal: cost_class = focal_class_cost(out_logits, tgt_ids, o.focal_alpha, o.focal_gamma); break;
    case ClassCost::Token:
      cost_class = token_class_cost(out_logits, torch::cat(pmaps), o.focal_alpha, o.focal_gamma);
      break;
  }
  auto cost_bbox = torch::cdist(out_box, tgt_box, 1);
  auto cost_giou = -box::generalized_iou(box::cxcywh_to_xyxy(out_box), box::cxcywh_to_xyxy(tgt_box));
  auto C = o.cost_bbox * cost_bbox + o.cost_class * cost_class + o.cost_giou * cost_giou;
  return C.view({B, Q, N});
}

}  // namespace

void check_match_predictions(const std::vector<torch::Tensor>& logits, const std::vector<torch::Tensor>& boxes,
                             int64_t batch) {
  if (logits.size() != boxes.size())
    throw RuntimeError(std::string(kFn) + ": " + std::to_string(logits.size()) + " logits for " +
                       std::to_string(boxes.size()) + " box tensors");
  // per layer: [3] (logits not finite, boxes not finite, a negative box size); one host sync for all layers
  std::vector<torch::Tensor> bad;
  for (size_t i = 0; i < logits.size(); ++i) {
    check::dims(logits[i], 3, kFn, "logits");
    check::dims(boxes[i], 3, kFn, "pred boxes");
    if (boxes[i].size(0) != logits[i].size(0) || boxes[i].size(1) != logits[i].size(1) || boxes[i].size(2) != 4)
      throw RuntimeError(std::string(kFn) + ": pred boxes " + check::shape(boxes[i]) + " do not match logits " +
                         check::shape(logits[i]) + " (want [B, Q, 4])");
    if (batch != logits[i].size(0))
      throw RuntimeError(std::string(kFn) + ": " + std::to_string(batch) + " targets for a batch of " +
                         std::to_string(logits[i].size(0)));
    if (logits[i].numel() == 0) continue;
    auto l = logits[i].detach(), b = boxes[i].detach();
    // -inf logits are allowed: Grounding DINO pads its token logits with -inf
    // (probability 0, a finite focal cost).
    bad.push_back(torch::stack({l.isnan().any().logical_or(l.gt(0).logical_and(l.isinf()).any()),
                                b.isfinite().logical_not().any(),
                                b.narrow(-1, 2, 2).lt(0).any()}));
  }
  if (bad.empty()) return;
  auto flags = torch::stack(bad).cpu();  // [layers, 3]
  if (!flags.any().item<bool>()) return;
  for (int64_t i = 0; i < flags.size(0); ++i) {
    if (flags[i][0].item<bool>()) throw RuntimeError(std::string(kFn) + ": logits contains NaN or +inf");
    if (flags[i][1].item<bool>()) throw RuntimeError(std::string(kFn) + ": pred boxes contains NaN or inf");
    if (flags[i][2].item<bool>()) throw RuntimeError(std::string(kFn) + ": pred boxes have negative width or height");
  }
}

void check_match_targets(const std::vector<SetTarget>& targets, int64_t num_logits, const HungarianMatcherOptions& o) {
  const int64_t C = num_logits;
  const int64_t n_classes = o.class_cost == ClassCost::Softmax ? C - 1 : C;
  // Shapes per image (no tensor work); values once over the concatenation,
  // going back to the offending image only to word the error.
  bool any_boxes = false;
  for (size_t b = 0; b < targets.size(); ++b) {
    const auto& t = targets[b];
    const std::string where = std::string(kFn) + "(target " + std::to_string(b) + ")";
    check::defined(t.boxes, where.c_str(), "boxes");
    check::defined(t.labels, where.c_str(), "labels");
    if (t.boxes.dim() != 2 || t.boxes.size(1) != 4 || t.labels.dim() != 1 || t.labels.size(0) != t.boxes.size(0))
      throw RuntimeError(where + ": boxes " + check::shape(t.boxes) + " and labels " + check::shape(t.labels) +
                         " must be [N, 4] and [N]");
    if (o.class_cost == ClassCost::Token &&
        (!t.positive_map.defined() || t.positive_map.dim() != 2 || t.positive_map.size(0) != t.boxes.size(0) ||
         t.positive_map.size(1) != C))
      throw RuntimeError(where + ": token cost needs positive_map [" + std::to_string(t.boxes.size(0)) + ", " +
                         std::to_string(C) + "], got " + check::shape(t.positive_map));
    any_boxes = any_boxes || t.boxes.size(0) > 0;
  }
  if (!any_boxes) return;
  std::vector<torch::Tensor> bx, lb;
  for (const auto& t : targets) {
    bx.push_back(t.boxes.detach().to(torch::kDouble));
    lb.push_back(t.labels.to(torch::kLong));
  }
  auto all_boxes = torch::cat(bx), all_labels = torch::cat(lb);
  const bool finite = torch::isfinite(all_boxes).all().item<bool>();
  const bool sizes_ok = !(all_boxes.narrow(1, 2, 2) < 0).any().item<bool>();
  bool labels_ok = true;
  if (o.class_cost != ClassCost::Token) {
    auto mm = torch::stack({all_labels.min(), all_labels.max()});
    labels_ok = mm[0].item<int64_t>() >= 0 && mm[1].item<int64_t>() < n_classes;
  }
  if (finite && sizes_ok && labels_ok) return;
  for (size_t b = 0; b < targets.size(); ++b) {
    const auto& t = targets[b];
    const std::string where = std::string(kFn) + "(target " + std::to_string(b) + ")";
    check::finite(t.boxes, where.c_str(), "boxes");
    if (t.boxes.numel() > 0 && (t.boxes.narrow(1, 2, 2) < 0).any().item<bool>())
      throw RuntimeError(where + ": a box has negative width or height (x2 < x1 or y2 < y1)");
    if (o.class_cost != ClassCost::Token) check::labels_in_range(t.labels, n_classes, where.c_str());
  }
}

torch::Tensor hungarian_cost(const torch::Tensor& logits, const torch::Tensor& boxes,
                             const std::vector<SetTarget>& targets, const HungarianMatcherOptions& o) {
  check_match_predictions({logits}, {boxes}, static_cast<int64_t>(targets.size()));
  check_match_targets(targets, logits.size(2), o);
  return unchecked_cost(logits, boxes, targets, o);
}

std::vector<MatchIndices> hungarian_match(const torch::Tensor& logits, const torch::Tensor& boxes,
                                          const std::vector<SetTarget>& targets, const HungarianMatcherOptions& o) {
  check_match_predictions({logits}, {boxes}, static_cast<int64_t>(targets.size()));
  check_match_targets(targets, logits.size(2), o);
  return hungarian_match_checked(logits, boxes, targets, o);
}

std::vector<MatchIndices> hungarian_match_checked(const torch::Tensor& logits, const torch::Tensor& boxes,
                                                  const std::vector<SetTarget>& targets,
                                                  const HungarianMatcherOptions& o) {
  auto C = unchecked_cost(logits, boxes, targets, o);
  const int64_t B = C.size(0), Q = C.size(1), N = C.size(2);
  auto Cd = C.detach().to(torch::kCPU, torch::kDouble).contiguous();
  // A degenerate pair of boxes (zero-area, identical) gives a NaN GIoU; that is
  // a bad input, not something to match around.
  check::finite(Cd, kFn, "cost matrix");
  const double* p = Cd.data_ptr<double>();

  std::vector<MatchIndices> out;
  out.reserve(B);
  std::vector<double> block;
  std::vector<int64_t> rows, cols;
  int64_t offset = 0;
  auto lopts = torch::TensorOptions().dtype(torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = targets[b].boxes.size(0);
    // Only image b's rows and its own targets' columns.
    block.resize(static_cast<size_t>(Q * n));
    const double* base = p + b * Q * N + offset;
    for (int64_t q = 0; q < Q; ++q) std::copy(base + q * N, base + q * N + n, block.data() + q * n);
    linear_sum_assignment(block.data(), Q, n, rows, cols);
    const int64_t k = static_cast<int64_t>(rows.size());
    MatchIndices m{torch::empty({k}, lopts), torch::empty({k}, lopts)};
    std::copy(rows.begin(), rows.end(), m.pred.data_ptr<int64_t>());
    std::copy(cols.begin(), cols.end(), m.target.data_ptr<int64_t>());
    out.push_back(std::move(m));
    offset += n;
  }
  return out;
}

}  // namespace seer
