#include "ops/frozen_batch_norm.h"

namespace seer {

FrozenBatchNorm2dImpl::FrozenBatchNorm2dImpl(int64_t num_features, double eps_) : eps(eps_) {
  weight = register_buffer("weight", torch::ones({num_features}));
  bias = register_buffer("bias", torch::zeros({num_features}));
  running_mean = register_buffer("running_mean", torch::zeros({num_features}));
  running_var = register_buffer("running_var", torch::ones({num_features}));
}

torch::Tensor FrozenBatchNorm2dImpl::forward(const torch::Tensor& x) {
  // Reshapes first, then one multiply-add (the official order of operations).
  auto w = weight.reshape({1, -1, 1, 1});
  auto b = bias.reshape({1, -1, 1, 1});
  auto rv = running_var.reshape({1, -1, 1, 1});
  auto rm = running_mean.reshape({1, -1, 1, 1});
  auto scale = w * (rv + eps).rsqrt();
  auto shift = b - rm * scale;
  return x * scale + shift;
}

}  // namespace seer
