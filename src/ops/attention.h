#pragma once
// Attention calls shared by the transformer blocks.
#include <torch/torch.h>

namespace seer {

// Turns autocast (CPU and CUDA) off for its lifetime and restores it after.
struct AutocastOff {
  AutocastOff();
  ~AutocastOff();
  AutocastOff(const AutocastOff&) = delete;
  AutocastOff& operator=(const AutocastOff&) = delete;

 private:
  bool cpu_, cuda_;
};

// torch.nn.MultiheadAttention's output only (no attention weights computed).
// q [Lq, B, C], k and v [Lk, B, C] (sequence first); key_padding_mask [B, Lk]
// bool, true = padding (undefined = none).
// Safe under autocast: LibTorch 1.13's C++ attention fills padded keys with
// -inf through a dispatch without bfloat16/half (and takes only 2-D additive
// masks), so with a padding mask under autocast the call runs in float32 and
// the result is cast back to q's dtype.
torch::Tensor multihead_attention(torch::nn::MultiheadAttention& attn, const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& key_padding_mask = {});

// The same attention with what LibTorch 1.13's C++ module cannot take: a
// per-sample boolean mask. q [Lq, B, C], k and v [Lk, B, C]; blocked [B, Lq, Lk]
// bool, true = may NOT attend (shared by the heads); key_padding_mask [B, Lk]
// bool, true = padding (undefined = none). The module's parameters
// (in_proj_weight/bias, out_proj) and dropout are used as torch's forward uses
// them. A row with every key blocked gives NaN, as in torch.
torch::Tensor multihead_attention_masked(torch::nn::MultiheadAttention& attn, const torch::Tensor& q,
                                         const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& blocked,
                                         const torch::Tensor& key_padding_mask = {});

}  // namespace seer
