#include "models/transformers/detr_transformer.h"

#include "core/error.h"
#include "ops/attention.h"

namespace seer {

namespace {

torch::nn::MultiheadAttention mha(const DetrTransformerOptions& o) {
  return torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(o.d_model, o.nhead).dropout(o.dropout));
}

torch::nn::LayerNorm layer_norm(int64_t d) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})); }

torch::Tensor with_pos(const torch::Tensor& x, const torch::Tensor& pos) { return pos.defined() ? x + pos : x; }

torch::Tensor attend(torch::nn::MultiheadAttention& m, const torch::Tensor& q, const torch::Tensor& k,
                     const torch::Tensor& v, const torch::Tensor& key_padding_mask) {
  return multihead_attention(m, q, k, v, key_padding_mask);
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

torch::Tensor DetrTransformerImpl::encode(const torch::Tensor& src, const torch::Tensor& mask,
                                          const torch::Tensor& pos) {
  auto memory = src;
  for (auto& layer : enc_layers_) memory = layer->forward(memory, mask, pos);
  if (enc_norm_) memory = enc_norm_(memory);
  return memory;
}

torch::Tensor DetrTransformerImpl::decode(const torch::Tensor& tgt_in, const torch::Tensor& memory,
                                          const torch::Tensor& mask, const torch::Tensor& pos,
                                          const torch::Tensor& query_pos) {
  auto tgt = tgt_in;
  std::vector<torch::Tensor> inter;
  for (auto& layer : dec_layers_) {
    tgt = layer->forward(tgt, memory, mask, pos, query_pos);
    inter.push_back(dec_norm_(tgt));
  }
  return torch::stack(inter);  // [L, Q, B, C]
}

DetrTransformerImpl::Output DetrTransformerImpl::forward(const torch::Tensor& src_in, const torch::Tensor& mask_in,
                                                         const torch::Tensor& query_embed,
                                                         const torch::Tensor& pos_in,
                                                         const torch::Tensor& tgt_embed) {
  const int64_t B = src_in.size(0), C = src_in.size(1), H = src_in.size(2), W = src_in.size(3);
  if (query_embed.dim() != 2 || query_embed.size(1) != C ||
      (tgt_embed.defined() && tgt_embed.sizes() != query_embed.sizes()))
    throw RuntimeError("DETR transformer: query_embed must be [Q, " + std::to_string(C) +
                       "] (and tgt_embed the same shape)");
  auto src = src_in.flatten(2).permute({2, 0, 1});  // [HW, B, C]
  auto pos = pos_in.flatten(2).permute({2, 0, 1});  // [HW, B, C]
  auto mask = mask_in.flatten(1);                   // [B, HW]
  auto memory = encode(src, mask, pos);
  auto query_pos = query_embed.unsqueeze(1).repeat({1, B, 1});  // [Q, B, C]
  auto tgt = tgt_embed.defined() ? tgt_embed.unsqueeze(1).repeat({1, B, 1}) : torch::zeros_like(query_pos);
  Output out;
  out.hs = decode(tgt, memory, mask, pos, query_pos).transpose(1, 2);  // [L, B, Q, C]
  out.memory = memory.permute({1, 2, 0}).reshape({B, C, H, W});      // [B, C, H, W]
  return out;
}

}  // namespace seer
