#pragma once
// The text tower of CLIP (Radford et al. 2021), as openai/CLIP's encode_text
// computes it: token + learned position embeddings, a causal pre-norm
// transformer with QuickGELU, a final LayerNorm, the feature at the end token,
// and a linear projection into the joint embedding space. YOLO-World and RAM read
// text with it.
//
// Parameters carry OpenAI's names (`token_embedding.weight`,
// `positional_embedding`, `transformer.resblocks.0.attn.in_proj_weight`, `ln_1`,
// `mlp.c_fc`, `mlp.c_proj`, `ln_2`, `ln_final`, `text_projection` [width, embed]).
// Hugging Face CLIPTextModelWithProjection checkpoints load through the one key
// map in normalize_clip_text_state_dict().
#include <torch/torch.h>

#include <string>
#include <vector>

#include "text/encoder_weights.h"

namespace seer {
class ConfigSection;
}

namespace seer::text {

struct ClipTextOptions {
  int64_t vocab_size = 49408;
  int64_t context_length = 77;
  int64_t width = 512;
  int64_t layers = 12;
  int64_t heads = 8;
  int64_t embed_dim = 512;  // text_projection output (joint space)
  double layer_norm_eps = 1e-5;

  // Reads the keys above (same names) from a config section.
  static ClipTextOptions from_config(const ConfigSection& section);
  // Throws RuntimeError naming the bad field.
  void validate() const;
};

struct ClipTextOutput {
  torch::Tensor last_hidden_state;  // [B, L, W] after ln_final
  torch::Tensor pooled;             // [B, W] the end-token features
  torch::Tensor text_embeds;        // [B, E] pooled @ text_projection (L2-normalised on request)
};

// One pre-norm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
class ClipResidualBlockImpl : public torch::nn::Module {
 public:
  ClipResidualBlockImpl(int64_t width, int64_t heads, double eps);
  // x [B, L, W], additive mask [L, L]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);

 private:
  int64_t heads_;
  torch::Tensor in_proj_weight_, in_proj_bias_;  // [3W, W], [3W]: rows q | k | v
  torch::nn::Linear out_proj_{nullptr}, c_fc_{nullptr}, c_proj_{nullptr};
  torch::nn::LayerNorm ln_1_{nullptr}, ln_2_{nullptr};
};
TORCH_MODULE(ClipResidualBlock);

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const ClipTextOptions& options = {});

  // input_ids [B, L] with 1 <= L <= context_length. The end token is where
  // pooling happens: by default argmax(input_ids) per row (the OpenAI way: the
  // end token has the highest id); or `eot_positions` [B] (e.g. from
  // Encoding::eot_position). Bad shapes or ids are a RuntimeError.
  ClipTextOutput forward(const torch::Tensor& input_ids, const torch::Tensor& eot_positions = {},
                         bool normalize = false);
  // text_embeds only.
  torch::Tensor encode(const torch::Tensor& input_ids, bool normalize = true,
                       const torch::Tensor& eot_positions = {});

  const ClipTextOptions& options() const { return options_; }
  LoadReport load_weights(const StateDict& weights, bool strict = true);

 private:
  ClipTextOptions options_;
  torch::nn::Embedding token_embedding_{nullptr};
  torch::Tensor positional_embedding_;  // [context_length, W]
  std::vector<ClipResidualBlock> blocks_;
  torch::nn::LayerNorm ln_final_{nullptr};
  torch::Tensor text_projection_;  // [W, E]
};
TORCH_MODULE(ClipTextModel);

// Maps a loaded state dict to ClipTextModel names. OpenAI names pass through
// (the visual tower, logit_scale and the context/vocab/resolution scalars of a
// whole CLIP checkpoint are ignored). Hugging Face CLIPTextModelWithProjection /
// CLIPModel names are converted by this table:
//   text_model.embeddings.token_embedding.weight     -> token_embedding.weight
//   text_model.embeddings.position_embedding.weight  -> positional_embedding
//   text_model.encoder.layers.N.self_attn.{q,k,v}_proj.{weight,bias}
//                                                    -> transformer.resblocks.N.attn.in_proj_{weight,bias} (q|k|v stacked)
//   text_model.encoder.layers.N.self_attn.out_proj   -> transformer.resblocks.N.attn.out_proj
//   text_model.encoder.layers.N.layer_norm1 / 2      -> transformer.resblocks.N.ln_1 / ln_2
//   text_model.encoder.layers.N.mlp.fc1 / fc2        -> transformer.resblocks.N.mlp.c_fc / c_proj
//   text_model.final_layer_norm                      -> ln_final
//   text_projection.weight [E, W]                    -> text_projection [W, E] (transposed)
// and text_model.embeddings.position_ids, vision_model.*, visual_projection.*,
// logit_scale are ignored. An incomplete q/k/v triple is a RuntimeError.
NormalizedWeights normalize_clip_text_state_dict(const StateDict& state);

}  // namespace seer::text
