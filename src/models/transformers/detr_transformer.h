#pragma once
// DETR's encoder-decoder transformer (facebookresearch/detr models/transformer.py):
// sequence-first tensors [L, B, C] as torch.nn.MultiheadAttention takes them,
// positional encodings added to queries and keys at EVERY layer (never to
// values), post-norm layers by default or pre-norm (`normalize_before`).
//
// Names equal the official state_dict: encoder.layers.{i}.{self_attn,
// linear1, linear2, norm1, norm2}, decoder.layers.{i}.{self_attn,
// multihead_attn, linear1, linear2, norm1, norm2, norm3}, decoder.norm (always),
// encoder.norm (pre-norm only). MultiheadAttention holds in_proj_weight
// [3C, C] (q, k, v rows), in_proj_bias and out_proj.{weight,bias}.
// Every parameter with more than one dimension is xavier_uniform initialised.
#include <torch/torch.h>

#include <vector>

namespace seer {

struct DetrTransformerOptions {
  int64_t d_model = 256;
  int64_t nhead = 8;
  int64_t num_encoder_layers = 6;
  int64_t num_decoder_layers = 6;
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  bool normalize_before = false;  // pre-norm
};

class DetrEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit DetrEncoderLayerImpl(const DetrTransformerOptions& o);
  // src, pos [S, B, C]; key_padding_mask [B, S] bool (true = padding)
  torch::Tensor forward(const torch::Tensor& src, const torch::Tensor& key_padding_mask, const torch::Tensor& pos);

  torch::nn::MultiheadAttention self_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Dropout dropout{nullptr}, dropout1{nullptr}, dropout2{nullptr};

 private:
  bool pre_norm_;
};
TORCH_MODULE(DetrEncoderLayer);

class DetrDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DetrDecoderLayerImpl(const DetrTransformerOptions& o);
  // tgt, query_pos [Q, B, C]; memory, pos [S, B, C]; memory_key_padding_mask [B, S]
  torch::Tensor forward(const torch::Tensor& tgt, const torch::Tensor& memory,
                        const torch::Tensor& memory_key_padding_mask, const torch::Tensor& pos,
                        const torch::Tensor& query_pos);

  torch::nn::MultiheadAttention self_attn{nullptr}, multihead_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  torch::nn::Dropout dropout{nullptr}, dropout1{nullptr}, dropout2{nullptr}, dropout3{nullptr};

 private:
  bool pre_norm_;
};
TORCH_MODULE(DetrDecoderLayer);

class DetrTransformerImpl : public torch::nn::Module {
 public:
  explicit DetrTransformerImpl(DetrTransformerOptions options = {});

  struct Output {
    torch::Tensor hs;      // [L, B, Q, C]: every decoder layer through decoder.norm
    torch::Tensor memory;  // [B, C, H, W] encoder output
  };
  // The official forward: src, pos_embed [B, C, H, W]; mask [B, H, W] bool;
  // query_embed [Q, C] shared by the images; tgt_embed [Q, C] the decoder's
  // initial content (official DETR: undefined = zeros).
  Output forward(const torch::Tensor& src, const torch::Tensor& mask, const torch::Tensor& query_embed,
                 const torch::Tensor& pos_embed, const torch::Tensor& tgt_embed = {});

  // The two halves, sequence first, for callers that arrange the decoder's
  // queries themselves (e.g. Group DETR's groups, transformers/query_groups.h).
  // src, pos [S, B, C]; mask [B, S] -> memory [S, B, C].
  torch::Tensor encode(const torch::Tensor& src, const torch::Tensor& mask, const torch::Tensor& pos);
  // tgt, query_pos [Q, B', C]; memory, pos [S, B', C]; mask [B', S] ->
  // [L, Q, B', C], every layer's output through decoder.norm.
  torch::Tensor decode(const torch::Tensor& tgt, const torch::Tensor& memory, const torch::Tensor& mask,
                       const torch::Tensor& pos, const torch::Tensor& query_pos);

  const DetrTransformerOptions& options() const { return options_; }

 private:
  DetrTransformerOptions options_;
  std::vector<DetrEncoderLayer> enc_layers_;
  std::vector<DetrDecoderLayer> dec_layers_;
  torch::nn::LayerNorm enc_norm_{nullptr}, dec_norm_{nullptr};
};
TORCH_MODULE(DetrTransformer);

}  // namespace seer
