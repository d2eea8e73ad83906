#pragma once
// Asymmetric Loss for multi-label classification (Ridnik et al., ICCV 2021),
// with the semantics of Alibaba-MIIL/ASL src/loss_functions/losses.py.
#include <torch/torch.h>

namespace seer {

struct AsymmetricLossOptions {
  double gamma_neg = 4.0;
  double gamma_pos = 1.0;
  double clip = 0.05;  // probability shift of negatives; <= 0 disables it
  double eps = 1e-8;   // floor inside the logs
  // The focusing weight (1 - p_t)^gamma is computed without gradient
  // (AsymmetricLoss's default); false lets the gradient flow through it as
  // AsymmetricLossOptimized does by default.
  bool disable_torch_grad_focal_loss = true;
};

// logits [N, C], targets [N, C] multi-hot (0/1). Returns the SUM over all
// entries (the official loss has no mean):
//   p_neg = min(1 - p + clip, 1);  L = y log(max(p, eps)) + (1-y) log(max(p_neg, eps))
//   L *= (1 - p_t)^(gamma_pos y + gamma_neg (1-y)),  p_t = p y + p_neg (1-y);  loss = -sum L
torch::Tensor asymmetric_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                              const AsymmetricLossOptions& options = {});

struct AsymmetricLossSingleLabelOptions {
  double gamma_pos = 0.0;
  double gamma_neg = 4.0;
  double eps = 0.1;  // label smoothing
  bool mean = true;  // reduction 'mean' (else per-sample losses [N])
};

// ASLSingleLabel: log-softmax, asymmetric weight on the one-hot (with
// gradient), label smoothing eps. logits [N, C], target [N] int64 in [0, C).
torch::Tensor asymmetric_loss_single_label(const torch::Tensor& logits, const torch::Tensor& target,
                                           const AsymmetricLossSingleLabelOptions& options = {});

}  // namespace seer
