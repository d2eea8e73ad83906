#pragma once
// Stochastic depth (Huang et al. 2016) per sample, as the Swin, ViT and
// ViTDet blocks use it on their residual branches: in training each sample's
// branch is zeroed with probability p and the kept ones scaled by 1 / (1 - p);
// identity in evaluation or with p = 0. No parameters, so no state_dict keys.
#include <torch/torch.h>

namespace seer {

// x [B, ...]; one Bernoulli draw per sample (dim 0).
torch::Tensor drop_path(const torch::Tensor& x, double p, bool training);

class DropPathImpl : public torch::nn::Module {
 public:
  explicit DropPathImpl(double p = 0.0);
  torch::Tensor forward(const torch::Tensor& x);
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(DropPath);

}  // namespace seer
