#pragma once
// The small feed-forward network of the DETR family's box heads ("MLP" in
// facebookresearch/detr models/detr.py): num_layers Linear layers
// input -> hidden -> ... -> output with ReLU between them (none after the
// last). Parameters are `layers.{i}.{weight,bias}` as in the official code.
#include <torch/torch.h>

namespace seer {

class MLPImpl : public torch::nn::Module {
 public:
  MLPImpl(int64_t input_dim, int64_t hidden_dim, int64_t output_dim, int64_t num_layers);
  torch::Tensor forward(torch::Tensor x);  // [..., input_dim] -> [..., output_dim]

  torch::nn::ModuleList layers;
};
TORCH_MODULE(MLP);

}  // namespace seer
