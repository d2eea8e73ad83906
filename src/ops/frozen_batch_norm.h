#pragma once
// BatchNorm2d with fixed statistics and affine parameters, as DETR's backbone
// uses it (facebookresearch/detr models/backbone.py): all four tensors are
// BUFFERS (weight, bias, running_mean, running_var), so they never receive
// gradients and a state_dict has no `num_batches_tracked` for them (official
// DETR checkpoints have none; a torchvision BatchNorm2d checkpoint's
// `num_batches_tracked` entries are left for the loader to report/skip).
//   y = x * scale + (bias - running_mean * scale),  scale = weight * rsqrt(running_var + eps)
// eps (1e-5) sits inside the rsqrt, as in DETR (torchvision's old version had none).
#include <torch/torch.h>

namespace seer {

class FrozenBatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit FrozenBatchNorm2dImpl(int64_t num_features, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, H, W] -> same

  torch::Tensor weight, bias, running_mean, running_var;  // [C] each
  double eps;
};
TORCH_MODULE(FrozenBatchNorm2d);

}  // namespace seer
