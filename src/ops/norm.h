#pragma once
// Normalisation layers that run in their weights' dtype. Under CPU autocast
// (runtime.amp: bf16) Linears and convs hand on bfloat16, which LibTorch
// 1.13's layer_norm and group_norm refuse next to float32 weights; these casts
// make the norm run in float32 (as CUDA autocast does for these ops) and
// leave float32 inputs untouched.
#include <torch/torch.h>

namespace seer {

inline torch::Tensor apply_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  return norm->forward(x.to(norm->weight.scalar_type()));
}

inline torch::Tensor apply_norm(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return norm->forward(x.to(norm->weight.scalar_type()));
}

}  // namespace seer
