// The `model:` and `loss:` keys of a DETR config (read_detr_spec).
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/logging.h"
#include "models/detr.h"

namespace seer {

namespace {

// An ImageNet classification checkpoint into the backbone body: its `fc.*` head
// is not part of the body, and a frozen-BN body has no num_batches_tracked.
void load_pretrained_backbone(torch::nn::Module& body, const std::string& path) {
  WeightsFile file = read_weights(path);
  const StateDict own = module_state_dict(body);
  StateDict kept;
  int64_t dropped = 0;
  for (const auto& item : file.tensors) {
    const std::string& k = item.key();
    const bool head = k.rfind("fc.", 0) == 0;
    const bool counter = k.size() > 20 && k.compare(k.size() - 20, 20, ".num_batches_tracked") == 0 && !own.contains(k);
    if (head || counter) ++dropped;
    else kept.insert(k, item.value());
  }
  LoadReport report = load_state_dict(body, kept, /*strict=*/true, path);
  log().info("backbone weights {}: {} ({} classifier/counter tensors ignored)", path, report.summary(), dropped);
}

}  // namespace

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
  auto& bo = o.backbone;
  bo.depth = b.get<int64_t>("depth", 50, "ResNet depth: 18, 34, 50, 101 or 152");
  if (bo.depth != 18 && bo.depth != 34 && bo.depth != 50 && bo.depth != 101 && bo.depth != 152)
    b.fail("depth", "must be 18, 34, 50, 101 or 152, got " + std::to_string(bo.depth));
  bo.dilation = b.get<bool>("dilation", false, "dilate layer4 instead of striding (DC5: stride 16 instead of 32)");
  const auto norm = b.get<std::string>(
      "norm", "frozen_bn", "frozen_bn (official: fixed statistics, buffers only) | batch_norm (trainable, from scratch)");
  if (norm == "frozen_bn") bo.norm = ResNetNorm::FrozenBN;
  else if (norm == "batch_norm") bo.norm = ResNetNorm::BatchNorm;
  else b.fail("norm", "must be frozen_bn or batch_norm, got '" + norm + "'");
  bo.frozen_stages = b.get<int64_t>(
      "frozen_stages", 1, "stages without gradient: 0 none, 1 conv1+bn1+layer1 (official), ..., 4 all");
  if (bo.frozen_stages < 0 || bo.frozen_stages > 4) b.fail("frozen_stages", "must be in 0..4");
  bo.train = b.get<bool>("train", true, "false: freeze the whole backbone (official when lr_backbone is 0)");
  const std::string pretrained = b.get<std::string>(
      "pretrained", "", "torchvision ResNet weights (e.g. resnet50-0676ba61.pth) loaded into backbone.0.body before training ('' = random init)");
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
  to.return_intermediate = true;

  ConfigSection l = root.sub("loss");
  auto& lo = o.loss;
  auto coef = [&l](const char* key, double def, const char* doc) {
    double v = l.get<double>(key, def, doc);
    if (v < 0) l.fail(key, "must be >= 0, got " + std::to_string(v));
    return v;
  };
  lo.matcher.cost_class = coef("set_cost_class", 1.0, "matcher weight of -softmax probability");
  lo.matcher.cost_bbox = coef("set_cost_bbox", 5.0, "matcher weight of the L1 cxcywh distance");
  lo.matcher.cost_giou = coef("set_cost_giou", 2.0, "matcher weight of -GIoU");
  lo.weight_ce = coef("ce_loss_coef", 1.0, "weight of loss_ce (official: fixed 1)");
  lo.weight_bbox = coef("bbox_loss_coef", 5.0, "weight of loss_bbox (L1)");
  lo.weight_giou = coef("giou_loss_coef", 2.0, "weight of loss_giou");
  lo.eos_coef = coef("eos_coef", 0.1, "cross-entropy weight of the no-object class (softmax classification)");
  const auto cls = l.get<std::string>(
      "classification", "softmax",
      "softmax (official DETR: num_classes + 1 logits, cross-entropy) | focal (Deformable DETR: num_classes sigmoid "
      "logits, sigmoid focal loss and focal matching cost, top-k postprocessing)");
  if (cls == "focal") lo.focal = true;
  else if (cls != "softmax") l.fail("classification", "must be softmax or focal, got '" + cls + "'");
  lo.focal_alpha = l.get<double>("focal_alpha", 0.25, "focal loss and cost alpha (classification: focal)");
  if (lo.focal_alpha < 0 || lo.focal_alpha > 1) l.fail("focal_alpha", "must be in [0, 1]");
  lo.focal_gamma = coef("focal_gamma", 2.0, "focal loss and cost gamma (classification: focal)");
  lo.matcher.focal_alpha = lo.focal_alpha;
  lo.matcher.focal_gamma = lo.focal_gamma;

  const auto content = m.get<std::string>("decoder_content", "zeros",
      "initial decoder content: zeros (official DETR) | learned (one embedding per query, as Deformable DETR)");
  if (content == "learned") o.learned_content = true;
  else if (content != "zeros") m.fail("decoder_content", "must be zeros or learned, got '" + content + "'");
  o.train_groups = m.get<int64_t>(
      "train_groups", 1,
      "Group DETR: groups of num_queries queries during training, each matched one-to-one on its own; inference "
      "uses the first group (1 = off, official DETR)");
  if (o.train_groups < 1) m.fail("train_groups", "must be >= 1, got " + std::to_string(o.train_groups));
  ConfigSection d = m.sub("dense_aux");
  o.dense_aux = d.get<bool>("enabled", false,
                            "auxiliary dense head on the encoder output (training only; speeds up training from scratch)");
  auto dcoef = [&d](const char* key, double def, const char* doc) {
    double v = d.get<double>(key, def, doc);
    if (v < 0) d.fail(key, "must be >= 0, got " + std::to_string(v));
    return v;
  };
  o.dense_ce_coef = dcoef("ce_coef", 2.0, "weight of loss_dense_ce (sigmoid focal per token)");
  o.dense_bbox_coef = dcoef("bbox_coef", 5.0, "weight of loss_dense_bbox (L1 per positive token)");
  o.dense_giou_coef = dcoef("giou_coef", 2.0, "weight of loss_dense_giou (1 - GIoU per positive token)");

  ModelSpec spec;
  spec.build = [o, pretrained](const CategoryTable& categories) -> std::shared_ptr<Model> {
    auto model = std::make_shared<Detr>(o, categories);
    if (!pretrained.empty()) load_pretrained_backbone(*model->body, pretrained);
    return model;
  };
  return spec;
}

}  // namespace seer
