#pragma once
// The Swin Transformer backbone (Liu et al. 2021) as the detection families
// use it: Grounding DINO's swin_transformer.py (IDEA-Research/GroundingDINO
// 856dde20, itself mmdet's Swin), which UPN shares. Module names are the
// official ones (patch_embed.{proj,norm}, layers.{s}.blocks.{b}.{norm1,
// attn.{qkv,proj,relative_position_bias_table,relative_position_index}, norm2,
// mlp.{fc1,fc2}}, layers.{s}.downsample.{norm,reduction}, norm{i}), so a
// Grounding DINO / UPN backbone state_dict loads without mapping.
//
// - patch embedding: the image is zero-padded right/bottom to a multiple of 4,
//   a 4x4 stride-4 conv and a LayerNorm;
// - each stage: blocks of window attention (packed qkv, relative position
//   bias), shifted by window/2 on odd blocks with the official -100 mask, the
//   map zero-padded to a multiple of the window after norm1 (padded tokens
//   take part in attention, as in the official code) and cropped after;
//   then PatchMerging (odd sizes zero-padded) halves H, W and doubles C;
// - a LayerNorm norm{i} only for each returned stage (0-based i, official:
//   Grounding DINO has norm1..3, UPN norm0..3);
// - stochastic depth rising linearly over all blocks from 0 to
//   drop_path_rate (0.2: Grounding DINO's builder passes no rate for any
//   variant, so the constructor default holds);
// - frozen_stages as the official: -1 none, 0 patch_embed, 1 also
//   absolute_pos_embed, k >= 2 also layers 0..k-2; frozen parts also stay in
//   eval mode when the backbone is put in training mode (no drop path there);
// - init (for training from scratch; weights normally come from a checkpoint):
//   truncated normal (std .02) Linear weights, relative position tables and
//   absolute_pos_embed, zero Linear biases, LayerNorm 1 / 0, PyTorch's default
//   for the patch conv (Swin's _init_weights).
//
// Stage s (1-based) has stride 4 * 2^(s-1) and embed_dim * 2^(s-1) channels;
// any input size works (every size padded as above).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "models/backbones/backbone.h"

namespace seer {

struct SwinOptions {
  // Swin-T (the defaults), see swin_variant() for the others.
  int64_t embed_dim = 96;
  std::vector<int64_t> depths = {2, 2, 6, 2};
  std::vector<int64_t> num_heads = {3, 6, 12, 24};
  int64_t window_size = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_path_rate = 0.2;
  // Absolute position embedding [1, C, P, P], P = pretrain_img_size / 4,
  // resized bicubically to the patch grid (off in every released model).
  bool ape = false;
  int64_t pretrain_img_size = 224;
  int64_t frozen_stages = -1;  // see the header comment
  // Stages whose maps forward_features() returns, 1-based (Grounding DINO:
  // {2, 3, 4}; UPN: {1, 2, 3, 4}). Set by the family (BackboneSpec::build),
  // not by the config.
  std::vector<int64_t> out_stages = {2, 3, 4};
};

// Named shapes: "tiny" (96, 2-2-6-2, 3-6-12-24, window 7, 224), "small"
// (96, 2-2-18-2, 3-6-12-24, 7, 224), "base" (128, 2-2-18-2, 4-8-16-32, 12,
// 384), "large" (192, 2-2-18-2, 6-12-24-48, 12, 384): Grounding DINO's
// swin_T_224_1k, B_384_22k, L_384_22k and Microsoft's Swin-S. Throws
// RuntimeError for another name.
SwinOptions swin_variant(const std::string& name);
std::vector<std::string> swin_variants();

class SwinTransformerImpl : public Backbone {
 public:
  explicit SwinTransformerImpl(SwinOptions options = {});

  // [B, 3, H, W] -> per requested stage s, in increasing order:
  // [B, embed_dim * 2^(s-1), ceil(H / 2^(s+1)), ceil(W / 2^(s+1))] (each
  // halving rounds up).
  std::vector<torch::Tensor> forward_features(const torch::Tensor& images) override;
  std::vector<int64_t> strides() const override;
  std::vector<int64_t> channels() const override;
  // An ImageNet Swin classifier (Microsoft's swin_*_patch4_window*.pth) adds
  // the classification head and the final norm ...
  std::vector<std::string> classifier_prefixes() const override { return {"head.", "norm."}; }
  // ... holds attn_mask buffers and relative_position_index, which are
  // recomputed here (and differ when the window does) ...
  std::vector<std::string> derived_buffer_suffixes() const override {
    return {".attn_mask", ".relative_position_index"};
  }
  // ... and lacks the per-output norms, which detection adds.
  std::vector<std::string> pretrained_optional_prefixes() const override;
  void apply_freezing() override;
  // Frozen parts stay in eval mode, as the official train() override does.
  void train(bool on = true) override;

  const SwinOptions& options() const { return options_; }
  int64_t num_stages() const { return static_cast<int64_t>(options_.depths.size()); }
  int64_t stage_channels(int64_t stage) const { return options_.embed_dim << (stage - 1); }

 private:
  SwinOptions options_;
  torch::nn::Conv2d proj_{nullptr};
  torch::nn::LayerNorm patch_norm_{nullptr};
  torch::Tensor absolute_pos_embed_;
  torch::nn::ModuleList layers_{nullptr};
  std::vector<torch::nn::LayerNorm> out_norms_;  // per out stage, in out_stages order
};
TORCH_MODULE(SwinTransformer);

// Reads model.backbone.{variant, embed_dim, depths, num_heads, window_size,
// mlp_ratio, qkv_bias, drop_path_rate, ape, pretrain_img_size,
// frozen_stages}: the variant gives the defaults of the shape keys.
SwinOptions read_swin_options(const ConfigSection& backbone);
// The `swin` entry of the backbone table: the options above plus `pretrained`
// (an ImageNet Swin classifier checkpoint).
BackboneSpec read_swin_spec(const ConfigSection& backbone);
// A Swin with these options as a backbone-table entry (for building models in
// code; pretrained empty).
BackboneSpec swin_backbone(const SwinOptions& options);

}  // namespace seer
