#pragma once
// BERT (Devlin et al. 2019) as Hugging Face's BertModel computes it: the text
// encoder of Grounding DINO (bert-base-uncased) and VG-LAW (6 layers).
//
// Submodules carry Hugging Face's names (`embeddings.word_embeddings`,
// `encoder.layer.0.attention.self.query`, `attention.output.LayerNorm`,
// `intermediate.dense`, `output.dense`, `pooler.dense`, ...) so a bert-base
// `pytorch_model.bin` / `model.safetensors` state dict loads after
// normalize_bert_state_dict() (which only strips `bert.`, drops heads and buffers).
//
// The attention mask is 2-D [B, L] (1 = token, 0 = padding) or 3-D [B, L, L]
// (query x key, 1 = may attend), the form Grounding DINO uses to keep the phrases
// of a caption from seeing each other; position_ids may then restart per phrase.
// Masked scores get the lowest float added, as transformers does, so a row with
// no allowed key attends uniformly instead of producing NaN.
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "text/encoder_weights.h"

namespace seer {
class ConfigSection;
}

namespace seer::text {

struct BertOptions {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_layers = 12;
  int64_t num_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  double hidden_dropout = 0.1;     // active in train() mode only
  double attention_dropout = 0.1;  // active in train() mode only
  bool add_pooler = true;

  // Reads the keys above (same names) from a config section, e.g. `model.text_encoder`.
  static BertOptions from_config(const ConfigSection& section);
  // ConfigError-free check of the numbers (hidden divisible by heads, all > 0);
  // throws RuntimeError naming the bad field.
  void validate() const;
};

struct BertOutput {
  torch::Tensor last_hidden_state;          // [B, L, H]
  torch::Tensor pooler_output;              // [B, H] tanh(dense(h[:, 0])); undefined without pooler
  std::vector<torch::Tensor> hidden_states;  // embeddings + every layer (N + 1), when requested
};

// One encoder layer: self-attention + feed-forward, post-norm.
class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertOptions& o);
  // x [B, L, H], additive mask broadcastable to [B, heads, L, L]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);

 private:
  int64_t heads_, head_dim_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, attn_dense_{nullptr};
  torch::nn::LayerNorm attn_norm_{nullptr};
  torch::nn::Linear inter_dense_{nullptr}, out_dense_{nullptr};
  torch::nn::LayerNorm out_norm_{nullptr};
  torch::nn::Dropout hidden_drop_{nullptr}, attn_drop_{nullptr};
};
TORCH_MODULE(BertLayer);

class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertOptions& options = {});

  // input_ids [B, L] int64; attention_mask [B, L] or [B, L, L] (any dtype, nonzero =
  // keep; default all ones); token_type_ids [B, L] (default 0); position_ids [B, L]
  // or [L] (default 0..L-1). Bad shapes or ids are a RuntimeError saying which.
  BertOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                     const torch::Tensor& token_type_ids = {}, const torch::Tensor& position_ids = {},
                     bool output_hidden_states = false);

  const BertOptions& options() const { return options_; }
  // Strict by default: every parameter present, nothing unexpected, shapes equal.
  LoadReport load_weights(const StateDict& weights, bool strict = true);

 private:
  BertOptions options_;
  torch::nn::Embedding word_embeddings_{nullptr}, position_embeddings_{nullptr}, token_type_embeddings_{nullptr};
  torch::nn::LayerNorm embed_norm_{nullptr};
  torch::nn::Dropout embed_drop_{nullptr};
  std::vector<BertLayer> layers_;
  torch::nn::Linear pooler_dense_{nullptr};
};
TORCH_MODULE(BertModel);

// Maps a loaded BERT state dict to BertModel names: strips `module.` and the
// `bert.` prefix of BertForPreTraining / task checkpoints, renames the TF-era
// LayerNorm `gamma` / `beta` to `weight` / `bias`, and drops (lists in `ignored`)
// the `embeddings.position_ids` buffer, the pre-training heads (`cls.*`) and task
// heads. `with_pooler = false` also drops `pooler.*`.
NormalizedWeights normalize_bert_state_dict(const StateDict& state, bool with_pooler = true);

}  // namespace seer::text
