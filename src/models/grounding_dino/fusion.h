#pragma once
// The two text-side blocks of Grounding DINO's feature enhancer, with the
// official parameter names (fuse_modules.py, transformer_vanilla.py):
//
// BiAttentionBlock (`fusion_layers.i`): bi-directional image <-> text attention.
//   v = LN_v(v), l = LN_l(l); per head, A = (v_proj(v) * d^-1/2) l_proj(l)^T;
//   A -= max(A) over the WHOLE tensor, clamp [-5e4, 5e4] (image -> text);
//   A_l = A^T - rowmax(A^T), clamp, image padding -> -inf, softmax (text -> image);
//   A: text padding -> -inf, softmax; out_v = out_v_proj(A values_l_proj(l)),
//   out_l = out_l_proj(A_l values_v_proj(v)); v += drop_path(gamma_v * out_v),
//   l += drop_path(gamma_l * out_l) -- the residual is on the NORMALISED inputs;
//   gamma_* start at 1e-4 (layer scale).
//
// TextEnhancerLayer (`text_layers.i`): post-norm self-attention over the text
// tokens (q = k = text + pos, v = text) under the sub-sentence mask, then a
// ReLU feed-forward. The official layer ignores the key padding mask (the
// sub-sentence mask already keeps real tokens off the padding).
#include <torch/torch.h>

#include "ops/drop_path.h"

namespace seer::gdino {

class BiAttentionImpl : public torch::nn::Module {
 public:
  BiAttentionImpl(int64_t v_dim, int64_t l_dim, int64_t embed_dim, int64_t num_heads, double dropout);
  // v [B, Nv, v_dim], l [B, Nl, l_dim]; masks true = padding (undefined = none)
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& v, const torch::Tensor& l,
                                                  const torch::Tensor& v_padding, const torch::Tensor& l_padding);

  torch::nn::Linear v_proj{nullptr}, l_proj{nullptr}, values_v_proj{nullptr}, values_l_proj{nullptr},
      out_v_proj{nullptr}, out_l_proj{nullptr};

 private:
  int64_t heads_, head_dim_;
  double dropout_;
};
TORCH_MODULE(BiAttention);

class BiAttentionBlockImpl : public torch::nn::Module {
 public:
  BiAttentionBlockImpl(int64_t v_dim, int64_t l_dim, int64_t embed_dim, int64_t num_heads, double dropout,
                       double drop_path, double init_values = 1e-4);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& v, const torch::Tensor& l,
                                                  const torch::Tensor& v_padding, const torch::Tensor& l_padding);

  torch::nn::LayerNorm layer_norm_v{nullptr}, layer_norm_l{nullptr};
  BiAttention attn{nullptr};
  torch::Tensor gamma_v, gamma_l;

 private:
  double drop_path_;
};
TORCH_MODULE(BiAttentionBlock);

class TextEnhancerLayerImpl : public torch::nn::Module {
 public:
  TextEnhancerLayerImpl(int64_t d_model, int64_t nhead, int64_t d_ffn, double dropout);
  // text [B, T, C], pos [B, T, C]; blocked [B, T, T] bool, true = may not attend
  torch::Tensor forward(const torch::Tensor& text, const torch::Tensor& pos, const torch::Tensor& blocked);

  torch::nn::MultiheadAttention self_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(TextEnhancerLayer);

}  // namespace seer::gdino
