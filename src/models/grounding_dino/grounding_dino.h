#pragma once
// Grounding DINO (Liu et al. 2023; IDEA-Research/GroundingDINO, training as
// longzw1997/Open-GroundingDino): a Swin (or any table) backbone, BERT text
// features, a feature enhancer that fuses image and text (per layer: the
// bi-attention fusion block, the text self-attention layer, the deformable
// image self-attention layer), language-guided query selection (the 900
// encoder positions whose best token logit is highest), and a decoder whose
// layers attend to the text before the image. Classification is contrastive:
// the logit of query q for token t is hs_q . text_t (padded to 256 tokens with
// -inf); boxes are refined layer by layer with one box head shared by all
// layers.
//
// Module names equal the official state_dict (see the spec's table), so
// groundingdino_swint_ogc.pth / groundingdino_swinb_cogcoor.pth load strictly:
// backbone.0.* (Swin), bert.*, feat_map, input_proj.{0..3}.{0,1},
// transformer.{level_embed, tgt_embed, enc_output, enc_output_norm,
// enc_out_bbox_embed, encoder.{layers,text_layers,fusion_layers}.i,
// decoder.{layers.i, norm, ref_point_head, bbox_embed.i}}, bbox_embed.i. The
// shared box head is ONE module registered under its 12 names (bbox_embed.i and
// transformer.decoder.bbox_embed.i); training deduplicates its parameters.
//
// Labels: the model classifies text tokens. With a dataset's categories the
// caption is built from their names ("cat . dog ."), and a query's score for
// a category is its token probabilities averaged over the category's tokens
// (the official test_ap_on_coco positive map); vocabularies over the token
// budget run in chunks. A free caption (Target::caption, `--text`) gives
// phrases instead (get_phrases_from_posmap).
#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "losses/set_criterion.h"
#include "models/backbones/backbone.h"
#include "models/grounding_dino/fusion.h"
#include "models/grounding_dino/text_prompt.h"
#include "models/model.h"
#include "models/transformers/deformable_layers.h"
#include "ops/mlp.h"
#include "ops/position_encoding.h"
#include "text/bert.h"
#include "text/wordpiece.h"

namespace seer {

struct GroundingDinoOptions {
  BackboneSpec backbone;                 // the table entry (official: swin tiny / base 384)
  std::vector<int64_t> backbone_stages = {2, 3, 4};  // 1-based; official return_interm_indices [1,2,3]
  int64_t hidden_dim = 256;
  int64_t nheads = 8;
  int64_t enc_layers = 6;
  int64_t dec_layers = 6;
  int64_t dim_feedforward = 2048;
  double dropout = 0.0;
  double text_dropout = 0.0;
  double fusion_dropout = 0.0;
  double fusion_droppath = 0.1;
  int64_t num_queries = 900;
  int64_t num_feature_levels = 4;
  int64_t enc_n_points = 4;
  int64_t dec_n_points = 4;
  double pe_temperature = 20;  // PositionEmbeddingSineHW, both axes
  int64_t max_text_len = kMaxTextLen_;
  bool sub_sentence_present = true;
  text::BertOptions bert;  // official: bert-base-uncased
  std::string vocab;       // WordPiece vocabulary (bert-base-uncased vocab.txt)
  std::vector<std::string> freeze;  // state-dict prefixes whose parameters do not train
  bool aux_loss = true;
  bool interm_loss = true;
  SetCriterionOptions loss;  // classification Token
  double interm_loss_coef = 1.0;
  // predict() with a free caption: every query, scored by its best token
  // probability (predict.score_threshold filters, the official box_threshold),
  // its phrase from the tokens over text_threshold.
  double text_threshold = 0.25;
  // with categories: the top num_select (query, category) pairs (test_ap_on_coco: 300)
  int64_t num_select = 300;

  static constexpr int64_t kMaxTextLen_ = 256;
};

class GroundingDino : public Model {
 public:
  GroundingDino(GroundingDinoOptions options, CategoryTable categories);

  // The text encoder's output for tokenised captions.
  struct TextFeatures {
    torch::Tensor encoded;              // [B, T, D] after feat_map
    torch::Tensor token_mask;           // [B, T] bool, true = real token
    torch::Tensor position_ids;         // [B, T]
    torch::Tensor self_attention_mask;  // [B, T, T] bool, true = may attend
  };
  TextFeatures encode_text(const gdino::TextInputs& inputs);
  TextFeatures encode_text(const torch::Tensor& input_ids, const torch::Tensor& token_mask,
                           const torch::Tensor& position_ids, const torch::Tensor& self_attention_mask);

  struct ForwardOutput {
    torch::Tensor logits;         // [L, B, Q, 256] decoder layers' token logits (-inf beyond the text)
    torch::Tensor boxes;          // [L, B, Q, 4] normalised cxcywh
    torch::Tensor interm_logits;  // [B, Q, 256] encoder proposals (query selection)
    torch::Tensor interm_boxes;   // [B, Q, 4]
    torch::Tensor text_mask;      // [B, 256] bool, true = real token
    torch::Tensor topk_index;     // [B, Q] the selected encoder positions
  };
  // images [B, 3, H, W]; mask [B, H, W] bool true = padding; text features of B captions (or of 1, shared).
  // `selected` [B, Q] (optional) replaces the top-k query selection: parity
  // tests give the official one, since scores that tie within float noise
  // (gaps of 1e-6) may come out in another order.
  ForwardOutput forward(const torch::Tensor& images, const torch::Tensor& mask, const TextFeatures& text,
                        const torch::Tensor& selected = {});

  LossDict loss(const Batch& batch) override;
  // The criterion on given outputs (Open-GroundingDino's SetCriterion: every
  // decoder layer and the encoder proposals); targets carry 0/1 positive maps
  // [N, max_text_len]. Public for parity tests and profiling.
  LossDict loss_from_outputs(const ForwardOutput& out, const std::vector<SetTarget>& targets);
  std::vector<Prediction> predict(const Batch& batch) override;
  std::vector<torch::Tensor> forward_tensors(const std::vector<torch::Tensor>& inputs) override;
  std::vector<std::string> export_input_names() const override;
  std::vector<std::string> export_output_names() const override { return {"pred_logits", "pred_boxes"}; }
  std::vector<torch::Tensor> example_inputs(int64_t height, int64_t width) const override;
  std::string family() const override { return "grounding_dino"; }
  bool accepts_text() const override { return true; }
  // Empty prompts, prompts of separators only, and prompts over the token
  // budget whose phrases cannot be chunked are UsageErrors.
  void check_prompt(const std::string& text) const override;
  // The captions a free prompt runs as: itself, or, over the token budget, its
  // " . "-separated phrases in chunks that fit (RuntimeError when one phrase
  // alone does not fit or the prompt has no separator).
  std::vector<std::string> prompt_chunks(const std::string& caption) const;
  // Released checkpoints carry BERT's position_ids buffer and an unused label_enc.
  std::vector<std::string> ignored_weight_keys() const override {
    return {"bert.embeddings.position_ids", "label_enc.weight"};
  }

  // Bakes a prompt into forward_tensors (closed-vocabulary export): its text
  // features are computed once and forward_tensors takes (images, mask) only.
  // An empty caption goes back to the open-vocabulary form.
  void set_export_prompt(const std::string& caption) override;

  const GroundingDinoOptions& options() const { return options_; }
  const CategoryTable& categories() const { return categories_; }
  const text::WordPieceTokenizer& tokenizer() const { return *tokenizer_; }
  // Tokenises captions with the model's settings.
  gdino::TextInputs tokenize(const std::vector<std::string>& captions) const;
  // Forgets cached text features (called when training; weights changed).
  void clear_text_cache();
  int64_t text_cache_hits() const { return cache_hits_; }

  // Per-image predictions of raw outputs against category positive maps
  // (the official COCO postprocess): pos_map [K, 256] rows normalised.
  std::vector<Prediction> postprocess_categories(const torch::Tensor& logits, const torch::Tensor& boxes,
                                                 const torch::Tensor& pos_map, const std::vector<int64_t>& labels,
                                                 const std::vector<std::array<int64_t, 2>>& sizes) const;

  std::shared_ptr<Backbone> body;  // backbone.0
  std::shared_ptr<PositionEmbeddingSine> position_embedding;  // backbone.1
  text::BertModel bert{nullptr};
  torch::nn::Linear feat_map{nullptr};
  torch::nn::ModuleList input_proj{nullptr};
  torch::Tensor level_embed;  // transformer.level_embed
  torch::nn::Embedding tgt_embed{nullptr};
  torch::nn::Linear enc_output{nullptr};
  torch::nn::LayerNorm enc_output_norm{nullptr};
  MLP enc_out_bbox_embed{nullptr};
  std::vector<DeformableEncoderLayer> encoder_layers;
  std::vector<gdino::TextEnhancerLayer> text_layers;
  std::vector<gdino::BiAttentionBlock> fusion_layers;
  std::vector<DeformableDecoderLayer> decoder_layers;
  torch::nn::LayerNorm decoder_norm{nullptr};
  MLP ref_point_head{nullptr};
  MLP bbox_embed{nullptr};  // the shared box head (12 names)

 private:
  std::vector<torch::Tensor> project_features(const torch::Tensor& images, const torch::Tensor& mask,
                                              std::vector<torch::Tensor>& masks, std::vector<torch::Tensor>& pos);
  // The class-name caption chunks of the category table (cached).
  struct CategoryPrompt {
    std::string caption;
    gdino::TextInputs inputs;
    torch::Tensor pos_map;        // [K, 256] normalised
    std::vector<int64_t> labels;  // K contiguous labels
  };
  const std::vector<CategoryPrompt>& category_prompts();
  TextFeatures cached_text(const std::vector<std::string>& captions, gdino::TextInputs* inputs_out);
  void apply_freeze();

  GroundingDinoOptions options_;
  CategoryTable categories_;
  std::shared_ptr<text::WordPieceTokenizer> tokenizer_;
  SetCriterion criterion_;
  std::vector<CategoryPrompt> category_prompts_;
  bool category_prompts_built_ = false;
  std::map<std::string, std::pair<TextFeatures, gdino::TextInputs>> text_cache_;
  int64_t cache_hits_ = 0;
  TextFeatures export_text_;  // baked prompt (closed-vocabulary export)
};

ModelSpec read_grounding_dino_spec(const ConfigSection& root);

}  // namespace seer
