#include "ops/attention.h"

#include <ATen/autocast_mode.h>

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

}  // namespace seer
