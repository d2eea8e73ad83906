#include "models/transformers/detr_transformer.h"

#include <ATen/autocast_mode.h>

#include "core/error.h"

namespace seer {

namespace {

torch::nn::MultiheadAttention mha(const DetrTransformerOptions& o) {
  return torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(o.d_model, o.nhead).dropout(o.dropout));
}

torch::nn::LayerNorm layer_norm(int64_t d) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})); }

torch::Tensor with_pos(const torch::Tensor& x, const torch::Tensor& pos) { return pos.defined() ? x + pos : x; }

// The attention output only (no weights averaged or returned).
torch::Tensor attend(torch::nn::MultiheadAttention& m, const torch::Tensor& q, const torch::Tensor& k,
                     const torch::Tensor& v, const torch::Tensor& key_padding_mask) {
  if (key_padding_mask.defined() && (at::autocast::is_cpu_enabled() || at::autocast::is_enabled())) {
    // LibTorch 1.13's C++ attention fills padded keys with -inf through a
    // dispatch without bfloat16/half (and takes only 2-D additive masks), so
    // under autocast (runtime.amp) attention with a padding mask runs in float32.
    struct AutocastOff {
      bool cpu = at::autocast::is_cpu_enabled(), cuda = at::autocast::is_enabled();
      AutocastOff() {
        at::autocast::set_cpu_enabled(false);
        at::autocast::set_enabled(false);
      }
      ~AutocastOff() {
        at::autocast::set_cpu_enabled(cpu);
        at::autocast::set_enabled(cuda);
      }
    } off;
    auto out = std::get<0>(m->forward(q.to(torch::kFloat), k.to(torch::kFloat), v.to(torch::kFloat),
                                      key_padding_mask, /*need_weights=*/false));
    return out.to(q.scalar_type());
  }
  return std::get<0>(m->forward(q, k, v, key_padding_mask, /*need_weights=*/false));
}

}  // namespace

DetrEncoderLayerImpl::DetrEncoderLayerImpl(const DetrTransformerOptions& o) : pre_norm_(o.normalize_before) {
  self_attn = register_module("self_attn", mha(o));
  linear1 = register_module("linear1", torch::nn::Linear(o.d_model, o.dim_feedforward));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout));
  linear2 = register_module("linear2", torch::nn::Linear(o.dim_feedforward, o.d_model));
  norm1 = register_module("norm1", layer_norm(o.d_model));
  norm2 = register_module("norm2", layer_norm(o.d_model));
  dropout1 = register_module("dropout1", torch::nn::Dropout(o.dropout));
  dropout2 = register_module("dropout2", torch::nn::Dropout(o.dropout));
}

torch::Tensor DetrEncoderLayerImpl::forward(const torch::Tensor& src_in, const torch::Tensor& key_padding_mask,
                                            const torch::Tensor& pos) {
  auto src = src_in;
  auto ffn = [&](const torch::Tensor& x) { return linear2(dropout(torch::relu(linear1(x)))); };
  if (pre_norm_) {
    auto s2 = norm1(src);
    auto qk = with_pos(s2, pos);
    src = src + dropout1(attend(self_attn, qk, qk, s2, key_padding_mask));
    src = src + dropout2(ffn(norm2(src)));
    return src;
  }
  auto qk = with_pos(src, pos);
  src = norm1(src + dropout1(attend(self_attn, qk, qk, src, key_padding_mask)));
  return norm2(src + dropout2(ffn(src)));
}

DetrDecoderLayerImpl::DetrDecoderLayerImpl(const DetrTransformerOptions& o) : pre_norm_(o.normalize_before) {
  self_attn = register_module("self_attn", mha(o));
  multihead_attn = register_module("multihead_attn", mha(o));
  linear1 = register_module("linear1", torch::nn::Linear(o.d_model, o.dim_feedforward));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout));
  linear2 = register_module("linear2", torch::nn::Linear(o.dim_feedforward, o.d_model));
  norm1 = register_module("norm1", layer_norm(o.d_model));
  norm2 = register_module("norm2", layer_norm(o.d_model));
  norm3 = register_module("norm3", layer_norm(o.d_model));
  dropout1 = register_module("dropout1", torch::nn::Dropout(o.dropout));
  dropout2 = register_module("dropout2", torch::nn::Dropout(o.dropout));
  dropout3 = register_module("dropout3", torch::nn::Dropout(o.dropout));
}

torch::Tensor DetrDecoderLayerImpl::forward(const torch::Tensor& tgt_in, const torch::Tensor& memory,
                                            const torch::Tensor& memory_key_padding_mask, const torch::Tensor& pos,
                                            const torch::Tensor& query_pos) {
  auto tgt = tgt_in;
  auto ffn = [&](const torch::Tensor& x) { return linear2(dropout(torch::relu(linear1(x)))); };
  const auto key = with_pos(memory, pos);
  if (pre_norm_) {
    auto t2 = norm1(tgt);
    auto qk = with_pos(t2, query_pos);
    tgt = tgt + dropout1(attend(self_attn, qk, qk, t2, {}));
    t2 = norm2(tgt);
    tgt = tgt + dropout2(attend(multihead_attn, with_pos(t2, query_pos), key, memory, memory_key_padding_mask));
    tgt = tgt + dropout3(ffn(norm3(tgt)));
    return tgt;
  }
  auto qk = with_pos(tgt, query_pos);
  tgt = norm1(tgt + dropout1(attend(self_attn, qk, qk, tgt, {})));
  tgt = norm2(tgt + dropout2(attend(multihead_attn, with_pos(tgt, query_pos), key, memory, memory_key_padding_mask)));
  return norm3(tgt + dropout3(ffn(tgt)));
}

DetrTransformerImpl::DetrTransformerImpl(DetrTransformerOptions options) : options_(options) {
  const auto& o = options_;
  if (o.d_model <= 0 || o.nhead <= 0 || o.d_model % o.nhead != 0)
    throw RuntimeError("DetrTransformer: d_model " + std::to_string(o.d_model) + " must be a positive multiple of nhead " +
                       std::to_string(o.nhead));
  if (o.num_decoder_layers < 1) throw RuntimeError("DetrTransformer: needs at least one decoder layer");
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  auto enc_list = encoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_encoder_layers; ++i) {
    enc_layers_.emplace_back(o);
    enc_list->push_back(enc_layers_.back());
  }
  if (o.normalize_before) enc_norm_ = encoder->register_module("norm", layer_norm(o.d_model));

  auto decoder = register_module("decoder", std::make_shared<torch::nn::Module>());
  auto dec_list = decoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_decoder_layers; ++i) {
    dec_layers_.emplace_back(o);
    dec_list->push_back(dec_layers_.back());
  }
  dec_norm_ = decoder->register_module("norm", layer_norm(o.d_model));

  torch::NoGradGuard ng;
  for (auto& p : parameters())
    if (p.dim() > 1) torch::nn::init::xavier_uniform_(p);
}

DetrTransformerImpl::Output DetrTransformerImpl::forward(const torch::Tensor& src_in, const torch::Tensor& mask_in,
                                                         const torch::Tensor& query_embed,
                                                         const torch::Tensor& pos_in,
                                                         const torch::Tensor& tgt_embed, int64_t groups) {
  const int64_t B = src_in.size(0), C = src_in.size(1), H = src_in.size(2), W = src_in.size(3);
  if (groups < 1 || query_embed.size(0) % groups != 0 || (tgt_embed.defined() && tgt_embed.sizes() != query_embed.sizes()))
    throw RuntimeError("DETR transformer: " + std::to_string(query_embed.size(0)) + " queries do not split into " +
                       std::to_string(groups) + " groups (or tgt_embed differs in shape)");
  const int64_t Q = query_embed.size(0) / groups;
  auto src = src_in.flatten(2).permute({2, 0, 1});  // [HW, B, C]
  auto pos = pos_in.flatten(2).permute({2, 0, 1});  // [HW, B, C]
  auto mask = mask_in.flatten(1);                   // [B, HW]

  auto memory = src;
  for (auto& layer : enc_layers_) memory = layer->forward(memory, mask, pos);
  if (enc_norm_) memory = enc_norm_(memory);

  // [G*Q, C] -> [Q, G*B, C], entry g*B + b = group g's query for image b
  auto per_group = [&](const torch::Tensor& e) {
    return e.reshape({groups, Q, 1, C}).expand({groups, Q, B, C}).permute({1, 0, 2, 3}).reshape({Q, groups * B, C});
  };
  auto query_pos = per_group(query_embed);
  auto dec_memory = groups > 1 ? memory.repeat({1, groups, 1}) : memory;
  auto dec_mask = groups > 1 ? mask.repeat({groups, 1}) : mask;
  auto dec_pos = groups > 1 ? pos.repeat({1, groups, 1}) : pos;
  auto tgt = tgt_embed.defined() ? per_group(tgt_embed) : torch::zeros_like(query_pos);
  std::vector<torch::Tensor> inter;
  for (auto& layer : dec_layers_) {
    tgt = layer->forward(tgt, dec_memory, dec_mask, dec_pos, query_pos);
    if (options_.return_intermediate) inter.push_back(dec_norm_(tgt));
  }
  auto hs = options_.return_intermediate ? torch::stack(inter) : dec_norm_(tgt).unsqueeze(0);  // [L, Q, B, C]
  Output out;
  out.hs = hs.transpose(1, 2);                                      // [L, B, Q, C]
  out.memory = memory.permute({1, 2, 0}).reshape({B, C, H, W});     // [B, C, H, W]
  return out;
}

}  // namespace seer
