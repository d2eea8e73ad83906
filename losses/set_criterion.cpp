#include "losses/set_criterion.h"

#include <algorithm>

#include "core/error.h"
#include "losses/check.h"
#include "losses/focal_loss.h"
#include "ops/box_ops.h"

namespace seer {

namespace {

constexpr const char* kFn = "SetCriterion";

// (batch index, prediction index) and target-side gathers of all matches.
struct Gathered {
  torch::Tensor batch;  // [K]
  torch::Tensor pred;   // [K]
  torch::Tensor labels;  // [K]
  torch::Tensor boxes;   // [K, 4]
};

Gathered gather(const std::vector<DetrTarget>& targets, const std::vector<MatchIndices>& matches,
                const torch::TensorOptions& box_opts) {
  std::vector<torch::Tensor> b, p, l, x;
  for (size_t i = 0; i < matches.size(); ++i) {
    const auto& m = matches[i];
    b.push_back(torch::full({m.pred.size(0)}, static_cast<int64_t>(i), torch::kLong));
    p.push_back(m.pred);
    l.push_back(targets[i].labels.to(torch::kLong).index_select(0, m.target.to(targets[i].labels.device())));
    x.push_back(targets[i].boxes.to(box_opts).index_select(0, m.target.to(box_opts.device())));
  }
  Gathered g;
  g.batch = b.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(b);
  g.pred = p.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(p);
  g.labels = l.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(l);
  g.boxes = x.empty() ? torch::zeros({0, 4}, box_opts) : torch::cat(x);
  // Matches come back on the CPU; follow the predictions' device.
  g.batch = g.batch.to(box_opts.device());
  g.pred = g.pred.to(box_opts.device());
  g.labels = g.labels.to(box_opts.device());
  return g;
}

void validate(const DetrOutput& out, const std::vector<DetrTarget>& targets, const SetCriterionOptions& o) {
  check::dims(out.logits, 3, kFn, "logits");
  if (o.matcher.class_cost == ClassCost::Token) {
    if (static_cast<int64_t>(targets.size()) != out.logits.size(0))
      throw RuntimeError(std::string(kFn) + ": " + std::to_string(targets.size()) + " targets for a batch of " +
                         std::to_string(out.logits.size(0)));
    return;  // positive maps are checked by the matcher
  }
  const int64_t want = o.focal ? o.num_classes : o.num_classes + 1;
  if (out.logits.size(2) != want)
    throw RuntimeError(std::string(kFn) + ": logits " + check::shape(out.logits) + " must have " +
                       std::to_string(want) + " classes (num_classes " + std::to_string(o.num_classes) +
                       (o.focal ? ", focal)" : " + no-object)"));
  if (static_cast<int64_t>(targets.size()) != out.logits.size(0))
    throw RuntimeError(std::string(kFn) + ": " + std::to_string(targets.size()) + " targets for a batch of " +
                       std::to_string(out.logits.size(0)));
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string where = std::string(kFn) + "(target " + std::to_string(i) + ")";
    check::labels_in_range(targets[i].labels, o.num_classes, where.c_str());
  }
}

}  // namespace

SetCriterion::SetCriterion(SetCriterionOptions options) : options_(std::move(options)) {
  if (options_.focal && options_.matcher.class_cost == ClassCost::Softmax) options_.matcher.class_cost = ClassCost::Focal;
}

LossDict SetCriterion::layer_losses(const DetrOutput& out, const std::vector<DetrTarget>& targets,
                                    const std::vector<MatchIndices>& matches, double num_boxes, bool with_masks,
                                    LossDict* logs, const std::string& log_suffix) const {
  const auto& o = options_;
  const auto& logits = out.logits;  // [B, Q, C]
  const int64_t B = logits.size(0), Q = logits.size(1), C = logits.size(2);
  auto g = gather(targets, matches, out.boxes.options());
  LossDict losses;

  // ---- classification
  const bool token = o.matcher.class_cost == ClassCost::Token;
  if (token) {
    // Matched queries take their target's positive map as token targets.
    auto one_hot = torch::zeros_like(logits);
    for (size_t i = 0; i < matches.size(); ++i) {
      const auto& m = matches[i];
      if (m.pred.numel() == 0) continue;
      one_hot[static_cast<int64_t>(i)].index_put_(
          {m.pred.to(logits.device())},
          targets[i].positive_map.to(logits.options()).index_select(0, m.target.to(logits.device())));
    }
    losses.insert("loss_ce", token_sigmoid_focal_loss(logits, one_hot, out.text_mask,
                                                      static_cast<double>(g.pred.numel()), o.focal_alpha,
                                                      o.focal_gamma));
  }
  auto target_classes = torch::full({B, Q}, o.num_classes, logits.options().dtype(torch::kLong));
  target_classes.index_put_({g.batch, g.pred}, g.labels);
  if (token) {
    // done above; labels are only carried for bookkeeping
  } else if (!o.focal) {
    auto w = torch::ones({C}, logits.options());
    w[C - 1] = o.eos_coef;
    losses.insert("loss_ce", torch::nn::functional::cross_entropy(
                                 logits.reshape({B * Q, C}), target_classes.view({B * Q}),
                                 torch::nn::functional::CrossEntropyFuncOptions().weight(w)));
  } else {
    // One-hot over num_classes + 1 then drop the no-object column, as
    // Deformable DETR does; the focal mean over queries is undone by * Q.
    auto onehot = torch::zeros({B, Q, C + 1}, logits.options());
    onehot.scatter_(2, target_classes.unsqueeze(-1), 1.0);
    onehot = onehot.narrow(2, 0, C);
    auto f = sigmoid_focal_loss(logits, onehot, o.focal_alpha, o.focal_gamma, Reduction::None);
    losses.insert("loss_ce", f.mean(1).sum() / num_boxes * static_cast<double>(Q));
  }

  if (logs && !token) {  // Open-GroundingDino logs neither
    torch::NoGradGuard ng;
    if (log_suffix.empty()) {
      // DETR's accuracy() of an empty batch is 0, so class_error is 100.
      double err = 100.0;
      if (g.pred.numel() > 0) {
        auto pred = logits.index({g.batch, g.pred}).argmax(-1);
        err = 100.0 - 100.0 * pred.eq(g.labels).sum().item<double>() / static_cast<double>(g.pred.numel());
      }
      logs->insert("class_error", torch::tensor(err, logits.options()));
    }
    std::vector<int64_t> lens;
    for (const auto& t : targets) lens.push_back(t.labels.size(0));
    auto tgt_len = torch::tensor(lens, torch::kLong).to(logits.options());
    auto card = (logits.argmax(-1) != C - 1).sum(1).to(logits.dtype());
    logs->insert("cardinality_error" + log_suffix, (card - tgt_len).abs().mean());
  }

  // ---- boxes
  auto src_boxes = out.boxes.index({g.batch, g.pred});  // [K, 4]
  losses.insert("loss_bbox", (src_boxes - g.boxes).abs().sum() / num_boxes);
  auto giou = box::generalized_iou_elementwise(box::cxcywh_to_xyxy(src_boxes), box::cxcywh_to_xyxy(g.boxes));
  losses.insert("loss_giou", (1 - giou).sum() / num_boxes);

  // ---- masks
  if (with_masks) {
    check::dims(out.masks, 4, kFn, "pred masks");
    int64_t H = 0, W = 0;
    for (const auto& t : targets) {
      if (!t.masks.defined() && t.labels.size(0) == 0) continue;
      check::dims(t.masks, 3, kFn, "target masks");
      H = std::max(H, t.masks.size(1));
      W = std::max(W, t.masks.size(2));
    }
    if (g.pred.numel() == 0) {
      auto zero = out.masks.sum() * 0;
      losses.insert("loss_mask", zero);
      losses.insert("loss_dice", zero.clone());
    } else {
      // Targets zero-padded bottom/right to the largest in the batch
      // (DETR's nested_tensor_from_tensor_list), then the matched ones.
      std::vector<torch::Tensor> tm;
      for (size_t i = 0; i < targets.size(); ++i) {
        const auto& m = matches[i];
        if (m.target.numel() == 0) continue;
        auto x = targets[i].masks.index_select(0, m.target.to(targets[i].masks.device())).to(out.masks.options());
        tm.push_back(torch::constant_pad_nd(x, {0, W - x.size(2), 0, H - x.size(1)}, 0));
      }
      auto target_masks = torch::cat(tm).flatten(1);              // [K, H*W]
      auto src = out.masks.index({g.batch, g.pred}).unsqueeze(1);  // [K, 1, h, w]
      src = torch::nn::functional::interpolate(src, torch::nn::functional::InterpolateFuncOptions()
                                                        .size(std::vector<int64_t>{H, W})
                                                        .mode(torch::kBilinear)
                                                        .align_corners(false));
      src = src.flatten(1);
      losses.insert("loss_mask", sigmoid_focal_loss(src, target_masks, 0.25, 2.0, Reduction::None).mean(1).sum() /
                                     num_boxes);
      losses.insert("loss_dice", dice_loss(src, target_masks, num_boxes));
    }
  }
  return losses;
}

LossDict SetCriterion::operator()(const DetrOutput& out, const std::vector<DetrOutput>& aux,
                                  const std::vector<DetrTarget>& targets, LossDict* logs, double num_boxes) const {
  const auto& o = options_;
  validate(out, targets, o);
  if (num_boxes < 0) {
    int64_t n = 0;
    for (const auto& t : targets) n += t.labels.size(0);
    num_boxes = static_cast<double>(n);
  }
  num_boxes = std::max(num_boxes, 1.0);

  auto weight = [&](const std::string& name) {
    if (name == "loss_ce") return o.weight_ce;
    if (name == "loss_bbox") return o.weight_bbox;
    if (name == "loss_giou") return o.weight_giou;
    if (name == "loss_mask") return o.weight_mask;
    return o.weight_dice;
  };
  LossDict result;
  auto add = [&](const LossDict& l, const std::string& suffix) {
    for (const auto& kv : l) result.insert(kv.key() + suffix, kv.value() * weight(kv.key()));
  };

  auto matches = hungarian_match(out.logits, out.boxes, targets, o.matcher);
  add(layer_losses(out, targets, matches, num_boxes, o.masks, logs, ""), "");
  for (size_t i = 0; i < aux.size(); ++i) {
    validate(aux[i], targets, o);
    auto m = hungarian_match(aux[i].logits, aux[i].boxes, targets, o.matcher);
    const std::string suffix = "_" + std::to_string(i);
    // DETR skips the mask losses of intermediate layers (too costly).
    add(layer_losses(aux[i], targets, m, num_boxes, false, logs, suffix), suffix);
  }
  return result;
}

}  // namespace seer
