// The `model:` and `loss:` keys of a DETR config (read_detr_spec).
#include "core/error.h"
#include "models/backbones/backbone.h"
#include "models/detr/detr.h"

namespace seer {

ModelSpec read_detr_spec(const ConfigSection& root) {
  ConfigSection m = root.sub("model");
  DetrOptions o;
  auto nc = m.optional<int64_t>(
      "num_classes",
      "classes without no-object; null: the dataset's category count (contiguous) or max category id + 1 (dataset_ids)");
  if (nc) {
    if (*nc < 1) m.fail("num_classes", "must be >= 1, got " + std::to_string(*nc));
    o.num_classes = *nc;
  }
  const auto space = m.get<std::string>(
      "label_space", "contiguous",
      "contiguous (class = dataset index) | dataset_ids (class = dataset category id, official COCO DETR: 91 classes)");
  if (space == "contiguous") o.label_space = LabelSpace::Contiguous;
  else if (space == "dataset_ids") o.label_space = LabelSpace::DatasetIds;
  else m.fail("label_space", "must be contiguous or dataset_ids, got '" + space + "'");
  o.num_queries = m.get<int64_t>("num_queries", 100, "object queries (detections per image)");
  if (o.num_queries < 1) m.fail("num_queries", "must be >= 1");
  o.aux_loss = m.get<bool>("aux_loss", true, "add the losses of every intermediate decoder layer (suffix _i)");

  ConfigSection b = m.sub("backbone");
  o.backbone = read_backbone_spec(b);
  o.position_embedding = b.get<std::string>("position_embedding", "sine", "sine (official) | learned");
  if (o.position_embedding != "sine" && o.position_embedding != "learned")
    b.fail("position_embedding", "must be sine or learned, got '" + o.position_embedding + "'");

  ConfigSection t = m.sub("transformer");
  auto& to = o.transformer;
  to.d_model = t.get<int64_t>("hidden_dim", 256, "transformer width");
  to.nhead = t.get<int64_t>("nheads", 8, "attention heads");
  if (to.nhead < 1) t.fail("nheads", "must be >= 1");
  if (to.d_model < 2 || to.d_model % 2 != 0 || to.d_model % to.nhead != 0)
    t.fail("hidden_dim", "must be even and a multiple of nheads (" + std::to_string(to.nhead) + "), got " +
                             std::to_string(to.d_model));
  to.num_encoder_layers = t.get<int64_t>("enc_layers", 6, "encoder layers");
  if (to.num_encoder_layers < 0) t.fail("enc_layers", "must be >= 0");
  to.num_decoder_layers = t.get<int64_t>("dec_layers", 6, "decoder layers");
  if (to.num_decoder_layers < 1) t.fail("dec_layers", "must be >= 1");
  to.dim_feedforward = t.get<int64_t>("dim_feedforward", 2048, "feed-forward width");
  if (to.dim_feedforward < 1) t.fail("dim_feedforward", "must be >= 1");
  to.dropout = t.get<double>("dropout", 0.1, "dropout in attention and feed-forward");
  if (to.dropout < 0 || to.dropout >= 1) t.fail("dropout", "must be in [0, 1)");
  to.normalize_before = t.get<bool>("pre_norm", false, "pre-norm layers (+ encoder final norm); official: post-norm");

  ConfigSection l = root.sub("loss");
  auto& lo = o.loss;
  lo.cost_class = l.get_non_negative("set_cost_class", 1.0, "matcher weight of the class cost (softmax: -probability; focal: focal cost)");
  lo.cost_bbox = l.get_non_negative("set_cost_bbox", 5.0, "matcher weight of the L1 cxcywh distance");
  lo.cost_giou = l.get_non_negative("set_cost_giou", 2.0, "matcher weight of -GIoU");
  lo.weights["loss_ce"] = l.get_non_negative("ce_loss_coef", 1.0, "weight of loss_ce (official: fixed 1)");
  lo.weights["loss_bbox"] = l.get_non_negative("bbox_loss_coef", 5.0, "weight of loss_bbox (L1)");
  lo.weights["loss_giou"] = l.get_non_negative("giou_loss_coef", 2.0, "weight of loss_giou");
  lo.eos_coef = l.get_non_negative("eos_coef", 0.1, "cross-entropy weight of the no-object class (softmax classification)");
  const auto cls = l.get<std::string>(
      "classification", "softmax",
      "softmax (official DETR: num_classes + 1 logits, cross-entropy) | focal (Deformable DETR: num_classes sigmoid "
      "logits, sigmoid focal loss and focal matching cost, top-k postprocessing)");
  if (cls == "focal") lo.classification = Classification::Focal;
  else if (cls != "softmax") l.fail("classification", "must be softmax or focal, got '" + cls + "'");
  lo.focal_alpha = l.get<double>("focal_alpha", 0.25, "focal loss and cost alpha (classification: focal)");
  if (lo.focal_alpha < 0 || lo.focal_alpha > 1) l.fail("focal_alpha", "must be in [0, 1]");
  lo.focal_gamma = l.get_non_negative("focal_gamma", 2.0, "focal loss and cost gamma (classification: focal)");

  o.aids = read_detr_training_aids(m);

  ModelSpec spec;
  spec.build = [o](const CategoryTable& categories) -> std::shared_ptr<Model> {
    auto model = std::make_shared<Detr>(o, categories);
    if (!o.backbone.pretrained.empty()) load_pretrained_backbone(*model->body, o.backbone.pretrained);
    return model;
  };
  return spec;
}

}  // namespace seer
