#include "models/detr/detr.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/distributed.h"
#include "core/error.h"
#include "losses/set_target.h"
#include "models/transformers/query_groups.h"
#include "ops/box_ops.h"

namespace seer {

namespace {

// The class count a category table needs in a label space (0: empty table).
int64_t classes_needed(LabelSpace space, const CategoryTable& c) {
  if (c.size() == 0) return 0;
  if (space == LabelSpace::Contiguous) return c.size();
  return *std::max_element(c.ids.begin(), c.ids.end()) + 1;
}

}  // namespace

Detr::Detr(DetrOptions options, CategoryTable categories)
    : options_(std::move(options)), categories_(std::move(categories)) {
  auto& o = options_;
  const bool ids = o.label_space == LabelSpace::DatasetIds;
  if (ids)
    for (auto id : categories_.ids)
      if (id < 0) throw ConfigError("model.label_space: dataset_ids needs category ids >= 0, got " + std::to_string(id));
  const int64_t needed = classes_needed(o.label_space, categories_);
  if (o.num_classes < 0) {
    if (needed == 0)
      throw ConfigError("model.num_classes: null needs a dataset with categories; set it explicitly");
    o.num_classes = needed;
  } else if (o.num_classes < needed) {
    throw ConfigError("model.num_classes: " + std::to_string(o.num_classes) + " is too small for the dataset (" +
                      (ids ? "max category id + 1 = " : "category count ") + std::to_string(needed) + ")");
  }
  if (o.num_classes < 1) throw ConfigError("model.num_classes: must be >= 1");
  const int64_t C = o.num_classes, D = o.transformer.d_model;

  // Label maps: contiguous label <-> model class (identity without a table).
  const int64_t n_labels = categories_.size();
  std::vector<int64_t> cls(n_labels), lab(C, -1);
  for (int64_t i = 0; i < n_labels; ++i) cls[i] = ids ? categories_.ids[i] : i;
  for (int64_t c = 0; c < C; ++c) {
    if (n_labels == 0) lab[c] = c;
    else if (ids) lab[c] = categories_.index_of(c);
    else lab[c] = c < n_labels ? c : -1;
  }
  all_classes_reportable_ = std::all_of(lab.begin(), lab.end(), [](int64_t v) { return v >= 0; });
  class_of_label_ = torch::tensor(cls, torch::kLong);
  label_of_class_ = torch::tensor(lab, torch::kLong);

  // backbone = Joiner(Backbone(body), position embedding), as backbone.{0,1};
  // DETR reads the last stage only.
  if (!o.backbone.build) throw ConfigError("model.backbone: no backbone to build");
  body = o.backbone.build({o.backbone.num_stages});
  if (o.position_embedding == "sine") {
    PositionEmbeddingSineOptions pe;
    pe.num_pos_feats = D / 2;
    position_embedding = std::make_shared<PositionEmbeddingSine>(pe);
  } else if (o.position_embedding == "learned") {
    position_embedding = std::make_shared<PositionEmbeddingLearned>(D / 2);
  } else {
    throw ConfigError("model.backbone.position_embedding: '" + o.position_embedding + "' is not sine or learned");
  }
  auto joiner = register_module("backbone", std::make_shared<torch::nn::Module>());
  auto bb = joiner->register_module("0", std::make_shared<torch::nn::Module>());
  bb->register_module("body", body);
  joiner->register_module("1", position_embedding);

  input_proj = register_module("input_proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(body->channels().back(), D, 1)));
  query_embed = register_module("query_embed", torch::nn::Embedding(o.num_queries, D));
  transformer = register_module("transformer", DetrTransformer(o.transformer));
  const bool focal = o.loss.classification == Classification::Focal;
  if (o.loss.classification == Classification::Token)
    throw ConfigError("loss.classification: DETR classifies into classes (softmax or focal), not text tokens");
  class_embed = register_module("class_embed", torch::nn::Linear(D, focal ? C : C + 1));
  if (focal) {
    // Deformable DETR's prior: every class starts at probability 0.01.
    torch::NoGradGuard ng;
    class_embed->bias.fill_(-std::log((1 - 0.01) / 0.01));
  }
  bbox_embed = register_module("bbox_embed", MLP(D, D, 4, 3));
  aids_ = DetrTrainingAids(o.aids, *this, o.num_queries, D, C);

  o.loss.num_classes = C;
  criterion_ = SetCriterion(o.loss);
}

Detr::ForwardOutput Detr::forward(const torch::Tensor& images, const torch::Tensor& mask) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3)
    throw RuntimeError("DETR: images must be [B, 3, H, W]");
  if (!mask.defined() || mask.dim() != 3 || mask.size(0) != images.size(0) || mask.size(1) != images.size(2) ||
      mask.size(2) != images.size(3))
    throw RuntimeError("DETR: mask must be [B, H, W] matching the images");
  auto feat = body->forward(images);  // [B, Cb, h, w]
  namespace F = torch::nn::functional;
  // Official: F.interpolate(mask[None].float(), size=feat.shape[-2:]) (nearest).
  auto m = F::interpolate(mask.unsqueeze(0).to(feat.dtype()),
                          F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{feat.size(2), feat.size(3)})
                              .mode(torch::kNearest))
               .to(torch::kBool)[0];  // [B, h, w]
  auto pos = position_embedding->forward(m).to(feat.dtype());  // [B, D, h, w]
  auto src = input_proj->forward(feat);                         // [B, D, h, w]
  const int64_t B = src.size(0), D = src.size(1), h = src.size(2), w = src.size(3);

  // The official transformer forward, with the decoder's queries from the
  // training aids: G groups folded into the batch (G = 1 outside training).
  auto src_seq = src.flatten(2).permute({2, 0, 1});  // [hw, B, D]
  auto pos_seq = pos.flatten(2).permute({2, 0, 1});  // [hw, B, D]
  auto mask_seq = m.flatten(1);                      // [B, hw]
  auto memory = transformer->encode(src_seq, mask_seq, pos_seq);
  const auto q = aids_.decoder_queries(query_embed->weight, is_training());
  const int64_t G = q.groups;
  auto query_pos = query_groups::to_batch(q.position, G, B);  // [Q, G*B, D]
  auto tgt = q.content.defined() ? query_groups::to_batch(q.content, G, B) : torch::zeros_like(query_pos);
  auto hs = transformer
                ->decode(tgt, query_groups::repeat(memory, G, 1), query_groups::repeat(mask_seq, G, 0),
                         query_groups::repeat(pos_seq, G, 1), query_pos)
                .transpose(1, 2);  // [L, G*B, Q, D]
  ForwardOutput out;
  out.memory = memory.permute({1, 2, 0}).reshape({B, D, h, w});
  out.feat_mask = m;
  out.logits = class_embed->forward(hs);           // [L, G*B, Q, C+1] (focal: C)
  out.boxes = bbox_embed->forward(hs).sigmoid();  // [L, G*B, Q, 4]
  return out;
}

torch::Tensor Detr::labels_to_classes(const torch::Tensor& labels) const {
  if (options_.label_space == LabelSpace::Contiguous || categories_.size() == 0) return labels;
  if (labels.numel() == 0) return labels;
  const int64_t lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
  if (lo < 0 || hi >= categories_.size())
    throw RuntimeError("DETR: target label " + std::to_string(lo < 0 ? lo : hi) + " is outside the " +
                       std::to_string(categories_.size()) + " dataset categories");
  return class_of_label_.to(labels.device()).index_select(0, labels.to(torch::kLong));
}

LossDict Detr::loss(const Batch& batch) { return loss_from_outputs(forward(batch.images, batch.pad_mask), batch); }

LossDict Detr::loss_from_outputs(ForwardOutput out, const Batch& batch) {
  auto targets = to_set_targets(batch.targets);
  for (auto& t : targets) t.labels = labels_to_classes(t.labels);
  // Group DETR: the decoder ran groups * B entries, group-major; every group
  // is matched against the same targets.
  const int64_t B = static_cast<int64_t>(targets.size());
  if (B == 0 || out.logits.size(1) % B != 0)
    throw RuntimeError("DETR: outputs for " + std::to_string(out.logits.size(1)) + " entries do not fit a batch of " +
                       std::to_string(B));
  const int64_t groups = out.logits.size(1) / B;
  if (groups > 1) targets = query_groups::repeat_targets(targets, groups);
  // Under autocast (runtime.amp) the heads come out in bf16/fp16: the matcher's
  // cost matrix and the loss terms are computed in float32.
  out.logits = out.logits.to(torch::kFloat32);
  out.boxes = out.boxes.to(torch::kFloat32);
  const int64_t L = out.logits.size(0);
  auto layer = [&out](int64_t i) {
    SetPrediction p;
    p.logits = out.logits[i];
    p.boxes = out.boxes[i];
    return p;
  };
  std::vector<SetPrediction> aux;
  if (options_.aux_loss)
    for (int64_t i = 0; i + 1 < L; ++i) aux.push_back(layer(i));
  LossDict logs;
  // num_boxes as the official SetCriterion: the batch's target count summed over
  // the data-parallel workers and divided by their number (clamped to >= 1 there).
  double num_boxes = 0;
  for (const auto& t : batch.targets) num_boxes += static_cast<double>(t.labels.size(0));
  if (dist::distributed()) num_boxes = dist::all_reduce_sum(num_boxes) / dist::world_size();
  num_boxes = std::max(num_boxes, 1.0) * static_cast<double>(groups);  // the mean over groups
  LossDict losses = criterion_(layer(L - 1), aux, targets, &logs, num_boxes);
  for (const auto& kv : logs) losses.insert("log/" + kv.key(), kv.value());
  auto dense = aids_.dense_losses(out.memory, out.feat_mask, batch, options_.num_classes,
                                  [this](const torch::Tensor& l) { return labels_to_classes(l); });
  for (const auto& kv : dense) losses.insert(kv.key(), kv.value());
  return losses;
}

std::vector<Prediction> Detr::postprocess(const torch::Tensor& logits, const torch::Tensor& boxes,
                                          const std::vector<std::array<int64_t, 2>>& orig_sizes) const {
  const bool focal = options_.loss.classification == Classification::Focal;
  const int64_t B = logits.size(0), Q = logits.size(1), C = focal ? logits.size(2) : logits.size(2) - 1;
  if (static_cast<int64_t>(orig_sizes.size()) != B)
    throw RuntimeError("DETR: " + std::to_string(orig_sizes.size()) + " image sizes for a batch of " +
                       std::to_string(B));
  if (C != options_.num_classes || boxes.dim() != 3 || boxes.size(1) != Q)
    throw RuntimeError("DETR: postprocess needs logits [B, Q, " +
                       std::to_string(focal ? options_.num_classes : options_.num_classes + 1) +
                       "] and boxes [B, Q, 4]");
  auto label_of = label_of_class_.to(logits.device());
  torch::Tensor scores, classes, xyxy = box::cxcywh_to_xyxy(boxes);  // [B, Q, 4]
  if (!focal) {
    auto prob = torch::softmax(logits, -1).narrow(-1, 0, C);  // [B, Q, C] (no-object dropped)
    if (!all_classes_reportable_) prob = prob.masked_fill(label_of.lt(0), -1.0);  // never win the max
    std::tie(scores, classes) = prob.max(-1);                                      // [B, Q]
  } else {
    // Deformable DETR's PostProcess: the top k (query, class) pairs by sigmoid
    // score, k = min(Q * C, max(Q, 100)), over the classes a category maps to
    // (C of them); a query may be reported once per class.
    auto prob = logits.sigmoid();
    auto reportable = torch::arange(C, label_of.options());
    if (!all_classes_reportable_) {
      reportable = label_of.ge(0).nonzero().squeeze(1);
      prob = prob.index_select(2, reportable);
    }
    const int64_t R = reportable.size(0), k = std::min(Q * R, std::max<int64_t>(Q, 100));
    auto [top, index] = prob.reshape({B, Q * R}).topk(k, 1);
    scores = top;
    classes = reportable.index({index.remainder(R)});
    xyxy = xyxy.gather(1, index.div(R, "floor").unsqueeze(-1).expand({B, k, 4}));
  }
  std::vector<Prediction> preds;
  for (int64_t i = 0; i < B; ++i) {
    const auto [h, w] = orig_sizes[i];
    auto scale = torch::tensor({static_cast<float>(w), static_cast<float>(h), static_cast<float>(w),
                                static_cast<float>(h)}, boxes.options());
    Prediction p;
    p.boxes = xyxy[i] * scale;
    p.scores = scores[i];
    p.labels = label_of.index_select(0, classes[i]);
    preds.push_back(p);
  }
  return preds;
}

std::vector<Prediction> Detr::predict(const Batch& batch) {
  torch::NoGradGuard ng;
  auto out = forward(batch.images, batch.pad_mask);
  std::vector<std::array<int64_t, 2>> sizes;
  for (const auto& t : batch.targets) {
    auto s = t.orig_size[0] > 0 && t.orig_size[1] > 0 ? t.orig_size : t.size;
    if (s[0] <= 0 || s[1] <= 0)
      throw RuntimeError("DETR: image '" + t.file_name + "' has neither orig_size nor size to scale boxes to");
    sizes.push_back(s);
  }
  const int64_t L = out.logits.size(0);
  auto preds = postprocess(out.logits[L - 1], out.boxes[L - 1], sizes);
  for (size_t i = 0; i < preds.size(); ++i) preds[i].image_id = batch.targets[i].image_id;
  return preds;
}

std::vector<torch::Tensor> Detr::forward_tensors(const std::vector<torch::Tensor>& inputs) {
  if (inputs.size() != 2) throw RuntimeError("DETR: forward_tensors takes (images, mask)");
  auto out = forward(inputs[0], inputs[1]);
  const int64_t L = out.logits.size(0);
  return {out.logits[L - 1], out.boxes[L - 1]};
}

std::vector<std::string> Detr::training_only_prefixes() const { return aids_.training_only_prefixes(); }

std::vector<torch::Tensor> Detr::example_inputs(int64_t height, int64_t width) const {
  auto dev = query_embed->weight.device();
  return {torch::zeros({1, 3, height, width}, torch::TensorOptions().device(dev)),
          torch::zeros({1, height, width}, torch::TensorOptions().dtype(torch::kBool).device(dev))};
}

}  // namespace seer
