#include "ops/attention.h"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace seer {

AutocastOff::AutocastOff() : cpu_(at::autocast::is_cpu_enabled()), cuda_(at::autocast::is_enabled()) {
  at::autocast::set_cpu_enabled(false);
  at::autocast::set_enabled(false);
}

AutocastOff::~AutocastOff() {
  at::autocast::set_cpu_enabled(cpu_);
  at::autocast::set_enabled(cuda_);
}

torch::Tensor multihead_attention(torch::nn::MultiheadAttention& attn, const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& key_padding_mask) {
  if (key_padding_mask.defined() && (at::autocast::is_cpu_enabled() || at::autocast::is_enabled())) {
    AutocastOff off;
    auto out = std::get<0>(attn->forward(q.to(torch::kFloat), k.to(torch::kFloat), v.to(torch::kFloat),
                                         key_padding_mask, /*need_weights=*/false));
    return out.to(q.scalar_type());
  }
  return std::get<0>(attn->forward(q, k, v, key_padding_mask, /*need_weights=*/false));
}

torch::Tensor multihead_attention_masked(torch::nn::MultiheadAttention& attn, const torch::Tensor& q,
                                         const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& blocked,
                                         const torch::Tensor& key_padding_mask) {
  const auto& o = attn->options;
  const int64_t Lq = q.size(0), B = q.size(1), C = q.size(2), Lk = k.size(0), H = o.num_heads(), Dh = C / H;
  if (k.size(1) != B || v.size(1) != B || v.size(0) != Lk || k.size(2) != C || v.size(2) != C)
    throw RuntimeError("multihead_attention_masked: q [Lq, B, C], k and v [Lk, B, C] expected");
  if (blocked.defined() && (blocked.dim() != 3 || blocked.size(0) != B || blocked.size(1) != Lq || blocked.size(2) != Lk))
    throw RuntimeError("multihead_attention_masked: mask must be [B, Lq, Lk] = [" + std::to_string(B) + ", " +
                       std::to_string(Lq) + ", " + std::to_string(Lk) + "]");
  namespace F = torch::nn::functional;
  auto w = attn->in_proj_weight.chunk(3, 0);
  auto b = attn->in_proj_bias.defined() ? attn->in_proj_bias.chunk(3, 0) : std::vector<torch::Tensor>{{}, {}, {}};
  // [L, B, C] -> [B, H, L, Dh]
  auto heads = [&](const torch::Tensor& x, int64_t i, int64_t L) {
    return F::linear(x, w[i], b[i]).view({L, B, H, Dh}).permute({1, 2, 0, 3});
  };
  auto qh = heads(q, 0, Lq) * (1.0 / std::sqrt(static_cast<double>(Dh)));
  auto kh = heads(k, 1, Lk), vh = heads(v, 2, Lk);
  auto scores = torch::matmul(qh, kh.transpose(-1, -2));  // [B, H, Lq, Lk]
  torch::Tensor block;
  if (blocked.defined()) block = blocked.to(torch::kBool).unsqueeze(1);
  if (key_padding_mask.defined()) {
    auto kp = key_padding_mask.to(torch::kBool).view({B, 1, 1, Lk});
    block = block.defined() ? block.logical_or(kp) : kp;
  }
  if (block.defined()) scores = scores.masked_fill(block, -std::numeric_limits<float>::infinity());
  auto p = torch::softmax(scores, -1);
  if (attn->is_training() && o.dropout() > 0) p = F::dropout(p, F::DropoutFuncOptions().p(o.dropout()).training(true));
  auto out = torch::matmul(p, vh).permute({2, 0, 1, 3}).reshape({Lq, B, C});  // [Lq, B, C]
  return attn->out_proj->forward(out);
}

}  // namespace seer
