#pragma once
// The layers and helpers of the deformable transformers of the DINO line
// (Deformable DETR, DINO, Grounding DINO, UPN), batch first, post-norm, with
// the parameter names of IDEA-Research/GroundingDINO transformer.py:
//
//   encoder layer: self_attn (MSDeformAttn), norm1, linear1, linear2, norm2
//   decoder layer: self_attn (nn.MultiheadAttention), norm2,
//                  ca_text + catext_norm (text cross-attention, optional),
//                  cross_attn (MSDeformAttn), norm1, linear1, linear2, norm3
//
// and the two-stage helpers (encoder reference points, encoder proposals,
// the sine embedding of query boxes, the sine embedding of text positions).
#include <torch/torch.h>

#include <vector>

#include "ops/ms_deform_attn.h"

namespace seer {

struct DeformableLayerOptions {
  int64_t d_model = 256;
  int64_t d_ffn = 2048;
  double dropout = 0.0;
  int64_t n_levels = 4;
  int64_t n_heads = 8;
  int64_t n_points = 4;
  bool text_cross_attention = false;  // decoder: ca_text over the text tokens
};

// The flattened multi-scale maps every deformable layer reads.
struct MultiScaleInput {
  torch::Tensor spatial_shapes;     // [L, 2] int64 (H, W)
  torch::Tensor level_start_index;  // [L] int64
  torch::Tensor valid_ratios;       // [B, L, 2] float (w, h): unpadded fraction of each level
  torch::Tensor padding_mask;       // [B, S] bool, true = padding
};

class DeformableEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit DeformableEncoderLayerImpl(const DeformableLayerOptions& o);
  // src, pos [B, S, C]; reference_points [B, S, L, 2]
  torch::Tensor forward(const torch::Tensor& src, const torch::Tensor& pos, const torch::Tensor& reference_points,
                        const MultiScaleInput& in);

  MSDeformAttention self_attn{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(DeformableEncoderLayer);

class DeformableDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DeformableDecoderLayerImpl(const DeformableLayerOptions& o);
  // tgt, query_pos [B, Q, C]; reference_points [B, Q, L, 4] (valid-ratio scaled);
  // memory [B, S, C]; text [B, T, C] and text_padding [B, T] (true = padding)
  // when the layer has text cross-attention; self_attn_mask [Q, Q] bool (true =
  // blocked, denoising groups) or undefined.
  torch::Tensor forward(const torch::Tensor& tgt, const torch::Tensor& query_pos,
                        const torch::Tensor& reference_points, const torch::Tensor& memory, const MultiScaleInput& in,
                        const torch::Tensor& text = {}, const torch::Tensor& text_padding = {},
                        const torch::Tensor& self_attn_mask = {});

  MSDeformAttention cross_attn{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr}, catext_norm{nullptr};
  torch::nn::MultiheadAttention ca_text{nullptr}, self_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(DeformableDecoderLayer);

// valid_ratios of one level's padding mask [B, H, W] -> [B, 2] (w, h).
torch::Tensor valid_ratio(const torch::Tensor& mask);

// Flattens per-level maps [B, C, H, W] (and masks [B, H, W]) into [B, S, C] /
// [B, S] and fills shapes, start indices and valid ratios.
MultiScaleInput flatten_levels(const std::vector<torch::Tensor>& masks);

// The encoder's reference points: every pixel centre of every level,
// normalised by the level's valid size, then scaled by each level's valid
// ratio: [B, S, L, 2] (x, y).
torch::Tensor encoder_reference_points(const MultiScaleInput& in, torch::Dtype dtype = torch::kFloat);

// Two-stage proposals (gen_encoder_output_proposals): per pixel a box centred
// on it, side 0.05 * 2^level, normalised by the valid size, as logits;
// proposals at padding or with any coordinate outside (0.01, 0.99) are +inf
// and their memory rows are zeroed. Returns (memory', proposals [B, S, 4]).
std::pair<torch::Tensor, torch::Tensor> encoder_output_proposals(const torch::Tensor& memory,
                                                                 const MultiScaleInput& in);

// Sine embedding of boxes (gen_sineembed_for_position): [..., 2|4] in [0, 1]
// -> [..., num_feats * n] ordered (y, x[, w, h]), temperature 10000, scale
// 2 pi. The official code fixes num_feats at 128 (= hidden 256 / 2); seer
// uses hidden / 2 so smaller models work.
torch::Tensor box_sine_embedding(const torch::Tensor& pos, int64_t num_feats = 128);

// Sine embedding of scalar positions (get_sine_pos_embed, exchange_xy false,
// NOT normalised): [..., 1] -> [..., num_feats]; dim_t = T^(2 floor(i/2) / F),
// x * 2 pi / dim_t, sin on even, cos on odd channels interleaved.
torch::Tensor scalar_sine_embedding(const torch::Tensor& pos, int64_t num_feats = 256, double temperature = 10000);

// log(x / (1 - x)) with x clamped to [0, 1] and both parts to >= eps.
torch::Tensor inverse_sigmoid(const torch::Tensor& x, double eps = 1e-3);

}  // namespace seer
