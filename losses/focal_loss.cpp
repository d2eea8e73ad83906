#include "losses/focal_loss.h"

#include <algorithm>

#include "losses/check.h"

namespace seer {

torch::Tensor sigmoid_focal_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double alpha,
                                 double gamma, Reduction reduction) {
  constexpr const char* fn = "sigmoid_focal_loss";
  check::same_shape(inputs, targets, fn, "inputs", "targets");
  check::finite(inputs, fn, "inputs");
  auto t = targets.to(inputs.dtype());
  auto p = inputs.sigmoid();
  auto ce = torch::binary_cross_entropy_with_logits(inputs, t, {}, {}, at::Reduction::None);
  auto p_t = p * t + (1 - p) * (1 - t);
  auto loss = ce * (1 - p_t).pow(gamma);
  if (alpha >= 0) loss = (alpha * t + (1 - alpha) * (1 - t)) * loss;
  switch (reduction) {
    case Reduction::Mean: return loss.mean();
    case Reduction::Sum: return loss.sum();
    default: return loss;
  }
}

torch::Tensor dice_loss(const torch::Tensor& inputs, const torch::Tensor& targets, double num_boxes) {
  constexpr const char* fn = "dice_loss";
  check::same_shape(inputs, targets, fn, "inputs", "targets");
  check::finite(inputs, fn, "inputs");
  auto p = inputs.sigmoid().flatten(1);
  auto t = targets.to(inputs.dtype()).flatten(1);
  auto num = 2 * (p * t).sum(1);
  auto den = p.sum(-1) + t.sum(-1);
  return (1 - (num + 1) / (den + 1)).sum() / num_boxes;
}

torch::Tensor token_sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                       const torch::Tensor& text_mask, double num_pos, double alpha, double gamma) {
  constexpr const char* fn = "token_sigmoid_focal_loss";
  check::dims(logits, 3, fn, "logits");
  check::same_shape(logits, targets, fn, "logits", "targets");
  torch::Tensor x = logits, t = targets.to(logits.dtype());
  if (text_mask.defined()) {
    check::dims(text_mask, 2, fn, "text_mask");
    if (text_mask.size(0) != logits.size(0) || text_mask.size(1) != logits.size(2))
      throw RuntimeError(std::string(fn) + ": text_mask " + check::shape(text_mask) + " does not match logits " +
                         check::shape(logits) + " (want [B, T])");
    auto m = text_mask.to(torch::kBool).unsqueeze(1).expand_as(logits);
    x = logits.masked_select(m);
    t = t.masked_select(m);
  }
  // Padded tokens hold -inf logits in Grounding DINO; only the valid ones must be finite.
  check::finite(x, fn, "logits (valid tokens)");
  return sigmoid_focal_loss(x, t, alpha, gamma, Reduction::Sum) / std::max(num_pos, 1.0);
}

}  // namespace seer
