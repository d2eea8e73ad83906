// The `model:`, `loss:` and `predict:` keys of a Grounding DINO config.
#include <filesystem>

#include "core/error.h"
#include "models/backbones/backbone.h"
#include "models/grounding_dino/grounding_dino.h"

namespace seer {

namespace {

int64_t positive(const ConfigSection& s, const std::string& key, int64_t def, const std::string& doc) {
  const auto v = s.get<int64_t>(key, def, doc);
  if (v < 1) s.fail(key, "must be >= 1, got " + std::to_string(v));
  return v;
}

double probability(const ConfigSection& s, const std::string& key, double def, const std::string& doc) {
  const auto v = s.get<double>(key, def, doc);
  if (v < 0 || v >= 1) s.fail(key, "must be in [0, 1), got " + std::to_string(v));
  return v;
}

}  // namespace

ModelSpec read_grounding_dino_spec(const ConfigSection& root) {
  ConfigSection m = root.sub("model");
  GroundingDinoOptions o;
  ConfigSection b = m.sub("backbone");
  o.backbone = read_backbone_spec(b, "swin");
  o.backbone_stages = b.get<std::vector<int64_t>>(
      "out_stages", {2, 3, 4}, "1-based backbone stages fed to the transformer (official: 2, 3, 4 = strides 8, 16, 32)");
  if (o.backbone_stages.empty()) b.fail("out_stages", "needs at least one stage");
  for (size_t i = 0; i < o.backbone_stages.size(); ++i) {
    const auto s = o.backbone_stages[i];
    if (s < 1 || s > o.backbone.num_stages || (i > 0 && s <= o.backbone_stages[i - 1]))
      b.fail("out_stages", "must be increasing stages in 1.." + std::to_string(o.backbone.num_stages));
  }

  o.hidden_dim = positive(m, "hidden_dim", 256, "transformer width");
  o.nheads = positive(m, "nheads", 8, "attention heads (the text layers and the fusion use half)");
  if (o.nheads % 2 != 0 || o.hidden_dim % o.nheads != 0 || o.hidden_dim % 32 != 0)
    m.fail("hidden_dim", "must be a multiple of 32 and of nheads (" + std::to_string(o.nheads) +
                             ", itself even), got " + std::to_string(o.hidden_dim));
  o.enc_layers = m.get<int64_t>("enc_layers", 6, "feature-enhancer layers");
  if (o.enc_layers < 0) m.fail("enc_layers", "must be >= 0");
  o.dec_layers = positive(m, "dec_layers", 6, "decoder layers");
  o.dim_feedforward = positive(m, "dim_feedforward", 2048, "feed-forward width (text layers and fusion use half)");
  if (o.dim_feedforward % 2 != 0 || (o.dim_feedforward / 2) % (o.nheads / 2) != 0)
    m.fail("dim_feedforward", "half of it must be a multiple of nheads / 2");
  o.dropout = probability(m, "dropout", 0.0, "dropout of the deformable layers (official 0)");
  o.text_dropout = probability(m, "text_dropout", 0.0, "dropout of the text enhancer layers (official 0)");
  o.fusion_dropout = probability(m, "fusion_dropout", 0.0, "attention dropout of the fusion blocks (official 0)");
  o.fusion_droppath = probability(m, "fusion_droppath", 0.1, "drop path of the fusion blocks (official 0.1)");
  o.num_queries = positive(m, "num_queries", 900, "queries chosen by language-guided query selection");
  o.num_feature_levels = positive(m, "num_feature_levels", 4, "feature levels (backbone maps + extra stride-2 convs)");
  o.enc_n_points = positive(m, "enc_n_points", 4, "sampling points per head and level, encoder");
  o.dec_n_points = positive(m, "dec_n_points", 4, "sampling points per head and level, decoder");
  o.pe_temperature = m.get<double>("pe_temperature", 20.0, "sine position embedding temperature (official 20)");
  o.max_text_len = positive(m, "max_text_len", 256, "text tokens; logits are padded to this many columns");
  o.sub_sentence_present = m.get<bool>(
      "sub_sentence_present", true, "phrases of a caption do not attend to each other; positions restart per phrase");
  o.aux_loss = m.get<bool>("aux_loss", true, "losses of every intermediate decoder layer (suffix _i)");
  o.interm_loss = m.get<bool>("interm_loss", true, "losses of the selected encoder proposals (suffix _interm)");
  o.freeze = m.get<std::vector<std::string>>(
      "freeze", {}, "state-dict prefixes that do not train, e.g. [backbone., bert.] (backbone / text_encoder also accepted)");
  for (auto& p : o.freeze) {
    if (p == "backbone") p = "backbone.0.";
    else if (p == "text_encoder" || p == "bert") p = "bert.";
    if (p.empty()) m.fail("freeze", "an empty prefix would freeze everything");
  }

  ConfigSection t = m.sub("text_encoder");
  o.vocab = t.get<std::string>("vocab", "../shared/data/tokenizers/bert-base-uncased-vocab.txt",
                               "WordPiece vocabulary (bert-base-uncased vocab.txt)");
  if (!std::filesystem::exists(o.vocab)) t.fail("vocab", "no such file '" + o.vocab + "'");
  o.bert = text::BertOptions::from_config(t);

  ConfigSection l = root.sub("loss");
  auto& lo = o.loss;
  lo.classification = Classification::Token;
  lo.cost_class = l.get_non_negative("set_cost_class", 1.0, "matcher weight of the token focal cost (Open-GroundingDino 1)");
  lo.cost_bbox = l.get_non_negative("set_cost_bbox", 5.0, "matcher weight of the L1 cxcywh distance");
  lo.cost_giou = l.get_non_negative("set_cost_giou", 2.0, "matcher weight of -GIoU");
  lo.weights = {{"loss_ce", l.get_non_negative("cls_loss_coef", 2.0, "weight of the token focal loss")},
                {"loss_bbox", l.get_non_negative("bbox_loss_coef", 5.0, "weight of loss_bbox (L1)")},
                {"loss_giou", l.get_non_negative("giou_loss_coef", 2.0, "weight of loss_giou")}};
  lo.focal_alpha = l.get<double>("focal_alpha", 0.25, "token focal loss and cost alpha");
  if (lo.focal_alpha < 0 || lo.focal_alpha > 1) l.fail("focal_alpha", "must be in [0, 1]");
  lo.focal_gamma = l.get_non_negative("focal_gamma", 2.0, "token focal loss and cost gamma");
  o.interm_loss_coef = l.get_non_negative("interm_loss_coef", 1.0, "factor on the _interm losses");

  ConfigSection p = root.sub("predict");
  o.text_threshold = p.get<double>("text_threshold", 0.25, "free captions: tokens over this form a box's phrase");
  o.num_select = positive(p, "num_select", 300, "with categories: the top (query, category) pairs kept per image");

  ModelSpec spec;
  spec.accepts_text = true;
  spec.build = [o](const CategoryTable& categories) -> std::shared_ptr<Model> {
    auto model = std::make_shared<GroundingDino>(o, categories);
    if (!o.backbone.pretrained.empty()) load_pretrained_backbone(*model->body, o.backbone.pretrained);
    return model;
  };
  return spec;
}

}  // namespace seer
