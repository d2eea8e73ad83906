#include "losses/set_criterion.h"

#include <algorithm>

#include "core/error.h"
#include "losses/check.h"

namespace seer {

namespace {

constexpr const char* kCriterion = "SetCriterion";

const std::vector<std::string>& term_names() {
  static const std::vector<std::string> names = {"loss_ce", "loss_bbox", "loss_giou", "loss_mask", "loss_dice"};
  return names;
}

}  // namespace

HungarianMatcherOptions matcher_options(const SetCriterionOptions& o) {
  HungarianMatcherOptions m;
  switch (o.classification) {
    case Classification::Softmax: m.class_cost = ClassCost::Softmax; break;
    case Classification::Focal: m.class_cost = ClassCost::Focal; break;
    case Classification::Token: m.class_cost = ClassCost::Token; break;
  }
  m.cost_class = o.cost_class;
  m.cost_bbox = o.cost_bbox;
  m.cost_giou = o.cost_giou;
  m.focal_alpha = o.focal_alpha;
  m.focal_gamma = o.focal_gamma;
  return m;
}

SetCriterion::SetCriterion(SetCriterionOptions options) : options_(std::move(options)) {
  const auto& names = term_names();
  for (const auto& [name, w] : options_.weights) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw RuntimeError(std::string(kCriterion) + ": unknown loss weight '" + name + "' (terms: " + known + ")");
    }
    if (!(w >= 0)) throw RuntimeError(std::string(kCriterion) + ": weight of " + name + " must be >= 0");
  }
  matcher_ = matcher_options(options_);
}

void SetCriterion::check_inputs(const std::vector<const SetPrediction*>& layers,
                                const std::vector<SetTarget>& targets) const {
  const auto& o = options_;
  std::vector<torch::Tensor> logits, boxes;
  for (const auto* p : layers) {
    check::dims(p->logits, 3, kCriterion, "logits");
    if (o.classification != Classification::Token) {
      const int64_t want = o.classification == Classification::Focal ? o.num_classes : o.num_classes + 1;
      if (p->logits.size(2) != want)
        throw RuntimeError(std::string(kCriterion) + ": logits " + check::shape(p->logits) + " must have " +
                           std::to_string(want) + " classes (num_classes " + std::to_string(o.num_classes) +
                           (o.classification == Classification::Focal ? ", focal)" : " + no-object)"));
    }
    if (static_cast<int64_t>(targets.size()) != p->logits.size(0))
      throw RuntimeError(std::string(kCriterion) + ": " + std::to_string(targets.size()) + " targets for a batch of " +
                         std::to_string(p->logits.size(0)));
    logits.push_back(p->logits);
    boxes.push_back(p->boxes);
  }
  if (layers.empty()) return;
  check_match_predictions(logits, boxes, static_cast<int64_t>(targets.size()));
  check_match_targets(targets, layers.front()->logits.size(2), matcher_);
}

std::vector<MatchIndices> SetCriterion::match(const SetPrediction& pred, const std::vector<SetTarget>& targets) const {
  return hungarian_match_checked(pred.logits, pred.boxes, targets, matcher_);
}

LossDict SetCriterion::terms(const SetPrediction& pred, const std::vector<SetTarget>& targets,
                             const std::vector<MatchIndices>& matches, double num_boxes, bool with_masks,
                             LossDict* logs, const std::string& log_suffix) const {
  const auto& o = options_;
  auto pairs = gather_matches(targets, matches, pred.boxes.options());
  LossDict losses;
  switch (o.classification) {
    case Classification::Softmax:
      losses.insert("loss_ce", softmax_ce_loss(pred.logits, pairs, o.num_classes, o.eos_coef));
      break;
    case Classification::Focal:
      losses.insert("loss_ce", focal_class_loss(pred.logits, pairs, num_boxes, o.focal_alpha, o.focal_gamma));
      break;
    case Classification::Token:
      losses.insert("loss_ce", token_class_loss(pred.logits, pred.text_mask, targets, matches, o.focal_alpha,
                                                o.focal_gamma));
      break;
  }
  if (logs && o.classification != Classification::Token) {
    if (log_suffix.empty()) logs->insert("class_error", class_error(pred.logits, pairs));
    logs->insert("cardinality_error" + log_suffix, cardinality_error(pred.logits, targets));
  }
  auto [l1, giou] = box_losses(pred.boxes, pairs, num_boxes);
  losses.insert("loss_bbox", l1);
  losses.insert("loss_giou", giou);
  if (with_masks) {
    auto [focal, dice] = mask_losses(pred.masks, targets, matches, pairs, num_boxes);
    losses.insert("loss_mask", focal);
    losses.insert("loss_dice", dice);
  }
  return losses;
}

LossDict SetCriterion::weighted(const LossDict& terms, const std::string& suffix) const {
  LossDict out;
  for (const auto& kv : terms) {
    auto it = options_.weights.find(kv.key());
    if (it == options_.weights.end())
      throw RuntimeError(std::string(kCriterion) + ": no weight for the term '" + kv.key() + "'");
    out.insert(kv.key() + suffix, kv.value() * it->second);
  }
  return out;
}

LossDict SetCriterion::operator()(const SetPrediction& out, const std::vector<SetPrediction>& aux,
                                  const std::vector<SetTarget>& targets, LossDict* logs, double num_boxes) const {
  std::vector<const SetPrediction*> layers{&out};
  for (const auto& a : aux) layers.push_back(&a);
  check_inputs(layers, targets);
  if (num_boxes < 0) {
    int64_t n = 0;
    for (const auto& t : targets) n += t.labels.size(0);
    num_boxes = static_cast<double>(n);
  }
  num_boxes = std::max(num_boxes, 1.0);

  LossDict result;
  auto add = [&result](const LossDict& l) {
    for (const auto& kv : l) result.insert(kv.key(), kv.value());
  };
  add(weighted(terms(out, targets, match(out, targets), num_boxes, options_.masks, logs, ""), ""));
  for (size_t i = 0; i < aux.size(); ++i) {
    const std::string suffix = "_" + std::to_string(i);
    // DETR skips the mask losses of intermediate layers (too costly).
    add(weighted(terms(aux[i], targets, match(aux[i], targets), num_boxes, false, logs, suffix), suffix));
  }
  return result;
}

}  // namespace seer
