#include "models/grounding_dino/fusion.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/norm.h"
#include "ops/attention.h"

namespace seer::gdino {

namespace {
namespace F = torch::nn::functional;

torch::Tensor drop(const torch::Tensor& x, double p, bool training) {
  return p > 0 && training ? F::dropout(x, F::DropoutFuncOptions().p(p).training(true)) : x;
}
}  // namespace

BiAttentionImpl::BiAttentionImpl(int64_t v_dim, int64_t l_dim, int64_t embed_dim, int64_t num_heads, double dropout)
    : heads_(num_heads), head_dim_(embed_dim / num_heads), dropout_(dropout) {
  if (num_heads < 1 || embed_dim % num_heads != 0)
    throw ConfigError("Grounding DINO fusion: embed_dim " + std::to_string(embed_dim) + " is not a multiple of " +
                      std::to_string(num_heads) + " heads");
  v_proj = register_module("v_proj", torch::nn::Linear(v_dim, embed_dim));
  l_proj = register_module("l_proj", torch::nn::Linear(l_dim, embed_dim));
  values_v_proj = register_module("values_v_proj", torch::nn::Linear(v_dim, embed_dim));
  values_l_proj = register_module("values_l_proj", torch::nn::Linear(l_dim, embed_dim));
  out_v_proj = register_module("out_v_proj", torch::nn::Linear(embed_dim, v_dim));
  out_l_proj = register_module("out_l_proj", torch::nn::Linear(embed_dim, l_dim));
  torch::NoGradGuard ng;
  for (auto* m : {&v_proj, &l_proj, &values_v_proj, &values_l_proj, &out_v_proj, &out_l_proj}) {
    torch::nn::init::xavier_uniform_((*m)->weight);
    (*m)->bias.zero_();
  }
}

std::pair<torch::Tensor, torch::Tensor> BiAttentionImpl::forward(const torch::Tensor& v, const torch::Tensor& l,
                                                                 const torch::Tensor& v_padding,
                                                                 const torch::Tensor& l_padding) {
  const int64_t B = v.size(0), Nv = v.size(1), Nl = l.size(1), H = heads_, D = head_dim_;
  // [B, N, H*D] -> [B*H, N, D]
  auto heads = [&](const torch::Tensor& x, int64_t N) {
    return x.view({B, N, H, D}).transpose(1, 2).reshape({B * H, N, D});
  };
  auto q = heads(v_proj->forward(v) * std::pow(static_cast<double>(D), -0.5), Nv);
  auto k = heads(l_proj->forward(l), Nl);
  auto vv = heads(values_v_proj->forward(v), Nv);
  auto vl = heads(values_l_proj->forward(l), Nl);
  auto a = torch::bmm(q, k.transpose(1, 2));  // [B*H, Nv, Nl]
  // The official stabilisation: one max over the whole batch, then clamps.
  a = (a - a.max()).clamp(-50000, 50000);
  auto a_l = a.transpose(1, 2);
  a_l = (a_l - std::get<0>(a_l.max(-1, true))).clamp(-50000, 50000);  // [B*H, Nl, Nv]
  const double inf = std::numeric_limits<double>::infinity();
  if (v_padding.defined())
    a_l = a_l.masked_fill(v_padding.view({B, 1, 1, Nv}).expand({B, H, 1, Nv}).reshape({B * H, 1, Nv}), -inf);
  a_l = a_l.softmax(-1);
  if (l_padding.defined())
    a = a.masked_fill(l_padding.view({B, 1, 1, Nl}).expand({B, H, 1, Nl}).reshape({B * H, 1, Nl}), -inf);
  a = a.softmax(-1);
  const bool tr = is_training();
  auto out_v = torch::bmm(drop(a, dropout_, tr), vl);    // [B*H, Nv, D]
  auto out_l = torch::bmm(drop(a_l, dropout_, tr), vv);  // [B*H, Nl, D]
  out_v = out_v.view({B, H, Nv, D}).transpose(1, 2).reshape({B, Nv, H * D});
  out_l = out_l.view({B, H, Nl, D}).transpose(1, 2).reshape({B, Nl, H * D});
  return {out_v_proj->forward(out_v), out_l_proj->forward(out_l)};
}

BiAttentionBlockImpl::BiAttentionBlockImpl(int64_t v_dim, int64_t l_dim, int64_t embed_dim, int64_t num_heads,
                                           double dropout, double drop_path, double init_values)
    : drop_path_(drop_path) {
  layer_norm_v = register_module("layer_norm_v", torch::nn::LayerNorm(torch::nn::LayerNormOptions({v_dim})));
  layer_norm_l = register_module("layer_norm_l", torch::nn::LayerNorm(torch::nn::LayerNormOptions({l_dim})));
  attn = register_module("attn", BiAttention(v_dim, l_dim, embed_dim, num_heads, dropout));
  gamma_v = register_parameter("gamma_v", torch::full({v_dim}, init_values));
  gamma_l = register_parameter("gamma_l", torch::full({l_dim}, init_values));
}

std::pair<torch::Tensor, torch::Tensor> BiAttentionBlockImpl::forward(const torch::Tensor& v_in,
                                                                      const torch::Tensor& l_in,
                                                                      const torch::Tensor& v_padding,
                                                                      const torch::Tensor& l_padding) {
  auto v = apply_norm(layer_norm_v, v_in);
  auto l = apply_norm(layer_norm_l, l_in);
  auto [dv, dl] = attn->forward(v, l, v_padding, l_padding);
  const bool tr = is_training();
  return {v + drop_path(gamma_v * dv, drop_path_, tr), l + drop_path(gamma_l * dl, drop_path_, tr)};
}

TextEnhancerLayerImpl::TextEnhancerLayerImpl(int64_t d_model, int64_t nhead, int64_t d_ffn, double dropout)
    : dropout_(dropout) {
  self_attn = register_module(
      "self_attn", torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(d_model, nhead).dropout(dropout)));
  linear1 = register_module("linear1", torch::nn::Linear(d_model, d_ffn));
  linear2 = register_module("linear2", torch::nn::Linear(d_ffn, d_model));
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
}

torch::Tensor TextEnhancerLayerImpl::forward(const torch::Tensor& text, const torch::Tensor& pos,
                                             const torch::Tensor& blocked) {
  const bool tr = is_training();
  auto x = text.transpose(0, 1);  // [T, B, C]
  auto q = pos.defined() ? x + pos.transpose(0, 1) : x;
  auto sa = multihead_attention_masked(self_attn, q, q, x, blocked);
  x = apply_norm(norm1, x + drop(sa, dropout_, tr));
  auto f = linear2->forward(drop(torch::relu(linear1->forward(x)), dropout_, tr));
  x = apply_norm(norm2, x + drop(f, dropout_, tr));
  return x.transpose(0, 1);
}

}  // namespace seer::gdino
