#include "losses/asl.h"

#include "losses/check.h"

namespace seer {

torch::Tensor asymmetric_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                              const AsymmetricLossOptions& o) {
  constexpr const char* fn = "asymmetric_loss";
  check::same_shape(logits, targets, fn, "logits", "targets");
  check::finite(logits, fn, "logits");
  auto y = targets.to(logits.dtype());
  auto p = logits.sigmoid();
  auto p_neg = 1 - p;
  if (o.clip > 0) p_neg = (p_neg + o.clip).clamp_max(1);
  auto loss = y * p.clamp_min(o.eps).log() + (1 - y) * p_neg.clamp_min(o.eps).log();
  if (o.gamma_neg > 0 || o.gamma_pos > 0) {
    torch::Tensor w;
    {
      // The official code toggles grad mode around exactly this block.
      torch::AutoGradMode mode(!o.disable_torch_grad_focal_loss && torch::GradMode::is_enabled());
      auto p_t = p * y + p_neg * (1 - y);  // uses the shifted p_neg
      auto gamma = o.gamma_pos * y + o.gamma_neg * (1 - y);
      w = torch::pow(1 - p_t, gamma);
    }
    loss = loss * w;
  }
  return -loss.sum();
}

torch::Tensor asymmetric_loss_single_label(const torch::Tensor& logits, const torch::Tensor& target,
                                           const AsymmetricLossSingleLabelOptions& o) {
  constexpr const char* fn = "asymmetric_loss_single_label";
  check::dims(logits, 2, fn, "logits");
  check::dims(target, 1, fn, "target");
  if (target.size(0) != logits.size(0))
    throw RuntimeError(std::string(fn) + ": target " + check::shape(target) + " does not match logits " +
                       check::shape(logits));
  check::finite(logits, fn, "logits");
  const int64_t C = logits.size(1);
  check::labels_in_range(target, C, fn);
  auto log_p = logits.log_softmax(-1);
  auto onehot = torch::zeros_like(logits).scatter_(1, target.to(torch::kLong).unsqueeze(1), 1.0);
  auto anti = 1 - onehot;
  auto p_pos = log_p.exp();
  auto p_neg = 1 - p_pos;
  auto w = torch::pow(1 - p_pos * onehot - p_neg * anti, o.gamma_pos * onehot + o.gamma_neg * anti);
  auto weighted = log_p * w;
  auto t = o.eps > 0 ? onehot * (1 - o.eps) + o.eps / static_cast<double>(C) : onehot;
  auto loss = -(t * weighted).sum(-1);
  return o.mean ? loss.mean() : loss;
}

}  // namespace seer
