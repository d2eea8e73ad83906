#include "losses/set_loss_terms.h"

#include <algorithm>

#include "losses/check.h"
#include "losses/focal_loss.h"
#include "ops/box_ops.h"

namespace seer {

MatchedPairs gather_matches(const std::vector<SetTarget>& targets, const std::vector<MatchIndices>& matches,
                            const torch::TensorOptions& box_opts) {
  std::vector<torch::Tensor> b, p, l, x;
  for (size_t i = 0; i < matches.size(); ++i) {
    const auto& m = matches[i];
    b.push_back(torch::full({m.pred.size(0)}, static_cast<int64_t>(i), torch::kLong));
    p.push_back(m.pred);
    l.push_back(targets[i].labels.to(torch::kLong).index_select(0, m.target.to(targets[i].labels.device())));
    x.push_back(targets[i].boxes.to(box_opts).index_select(0, m.target.to(box_opts.device())));
  }
  MatchedPairs g;
  g.batch = b.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(b);
  g.query = p.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(p);
  g.labels = l.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(l);
  g.boxes = x.empty() ? torch::zeros({0, 4}, box_opts) : torch::cat(x);
  // Matches come back on the CPU; follow the predictions' device.
  g.batch = g.batch.to(box_opts.device());
  g.query = g.query.to(box_opts.device());
  g.labels = g.labels.to(box_opts.device());
  return g;
}

namespace {

// [B, Q] target class per query: the matched label, num_classes elsewhere.
torch::Tensor target_classes(const torch::Tensor& logits, const MatchedPairs& pairs, int64_t num_classes) {
  auto t = torch::full({logits.size(0), logits.size(1)}, num_classes, logits.options().dtype(torch::kLong));
  t.index_put_({pairs.batch, pairs.query}, pairs.labels);
  return t;
}

}  // namespace

torch::Tensor softmax_ce_loss(const torch::Tensor& logits, const MatchedPairs& pairs, int64_t num_classes,
                              double eos_coef) {
  const int64_t B = logits.size(0), Q = logits.size(1), C = logits.size(2);
  auto w = torch::ones({C}, logits.options());
  w[C - 1] = eos_coef;
  return torch::nn::functional::cross_entropy(logits.reshape({B * Q, C}),
                                              target_classes(logits, pairs, num_classes).view({B * Q}),
                                              torch::nn::functional::CrossEntropyFuncOptions().weight(w));
}

torch::Tensor focal_class_loss(const torch::Tensor& logits, const MatchedPairs& pairs, double num_boxes,
                               double alpha, double gamma) {
  const int64_t B = logits.size(0), Q = logits.size(1), C = logits.size(2);
  // One-hot over num_classes + 1, then the no-object column dropped, as
  // Deformable DETR does; the focal mean over queries is undone by * Q.
  auto onehot = torch::zeros({B, Q, C + 1}, logits.options());
  onehot.scatter_(2, target_classes(logits, pairs, C).unsqueeze(-1), 1.0);
  onehot = onehot.narrow(2, 0, C);
  auto f = sigmoid_focal_loss(logits, onehot, alpha, gamma, Reduction::None);
  return f.mean(1).sum() / num_boxes * static_cast<double>(Q);
}

torch::Tensor token_class_loss(const torch::Tensor& logits, const torch::Tensor& text_mask,
                               const std::vector<SetTarget>& targets, const std::vector<MatchIndices>& matches,
                               double alpha, double gamma) {
  auto one_hot = torch::zeros_like(logits);
  int64_t num_matches = 0;
  for (size_t i = 0; i < matches.size(); ++i) {
    const auto& m = matches[i];
    num_matches += m.pred.numel();
    if (m.pred.numel() == 0) continue;
    one_hot[static_cast<int64_t>(i)].index_put_(
        {m.pred.to(logits.device())},
        targets[i].positive_map.to(logits.options()).index_select(0, m.target.to(logits.device())));
  }
  return token_sigmoid_focal_loss(logits, one_hot, text_mask, static_cast<double>(num_matches), alpha, gamma);
}

std::array<torch::Tensor, 2> box_losses(const torch::Tensor& boxes, const MatchedPairs& pairs, double num_boxes) {
  auto src = boxes.index({pairs.batch, pairs.query});  // [K, 4]
  auto l1 = (src - pairs.boxes).abs().sum() / num_boxes;
  auto giou = box::generalized_iou_elementwise(box::cxcywh_to_xyxy(src), box::cxcywh_to_xyxy(pairs.boxes));
  return {l1, (1 - giou).sum() / num_boxes};
}

std::array<torch::Tensor, 2> mask_losses(const torch::Tensor& masks, const std::vector<SetTarget>& targets,
                                         const std::vector<MatchIndices>& matches, const MatchedPairs& pairs,
                                         double num_boxes) {
  constexpr const char* kFn = "mask_losses";
  check::dims(masks, 4, kFn, "pred masks");
  int64_t H = 0, W = 0;
  for (const auto& t : targets) {
    if (!t.masks.defined() && t.labels.size(0) == 0) continue;
    check::dims(t.masks, 3, kFn, "target masks");
    H = std::max(H, t.masks.size(1));
    W = std::max(W, t.masks.size(2));
  }
  if (pairs.size() == 0) {
    auto zero = masks.sum() * 0;
    return {zero, zero.clone()};
  }
  // Targets zero-padded bottom/right to the largest in the batch (DETR's
  // nested_tensor_from_tensor_list), then the matched ones.
  std::vector<torch::Tensor> tm;
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto& m = matches[i];
    if (m.target.numel() == 0) continue;
    auto x = targets[i].masks.index_select(0, m.target.to(targets[i].masks.device())).to(masks.options());
    tm.push_back(torch::constant_pad_nd(x, {0, W - x.size(2), 0, H - x.size(1)}, 0));
  }
  auto target_masks = torch::cat(tm).flatten(1);                // [K, H*W]
  auto src = masks.index({pairs.batch, pairs.query}).unsqueeze(1);  // [K, 1, h, w]
  src = torch::nn::functional::interpolate(src, torch::nn::functional::InterpolateFuncOptions()
                                                    .size(std::vector<int64_t>{H, W})
                                                    .mode(torch::kBilinear)
                                                    .align_corners(false));
  src = src.flatten(1);
  auto focal = sigmoid_focal_loss(src, target_masks, 0.25, 2.0, Reduction::None).mean(1).sum() / num_boxes;
  return {focal, dice_loss(src, target_masks, num_boxes)};
}

torch::Tensor class_error(const torch::Tensor& logits, const MatchedPairs& pairs) {
  torch::NoGradGuard ng;
  double err = 100.0;
  if (pairs.size() > 0) {
    auto pred = logits.index({pairs.batch, pairs.query}).argmax(-1);
    err = 100.0 - 100.0 * pred.eq(pairs.labels).sum().item<double>() / static_cast<double>(pairs.size());
  }
  return torch::tensor(err, logits.options());
}

torch::Tensor cardinality_error(const torch::Tensor& logits, const std::vector<SetTarget>& targets) {
  torch::NoGradGuard ng;
  std::vector<int64_t> lens;
  for (const auto& t : targets) lens.push_back(t.labels.size(0));
  auto tgt_len = torch::tensor(lens, torch::kLong).to(logits.options());
  auto card = (logits.argmax(-1) != logits.size(2) - 1).sum(1).to(logits.dtype());
  return (card - tgt_len).abs().mean();
}

}  // namespace seer
