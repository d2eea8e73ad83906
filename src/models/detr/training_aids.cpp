#include "models/detr/training_aids.h"

#include "core/distributed.h"
#include "core/error.h"

namespace seer {

DetrTrainingAidsOptions read_detr_training_aids(const ConfigSection& m) {
  DetrTrainingAidsOptions o;
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
  o.dense_ce_coef = d.get_non_negative("ce_coef", 2.0, "weight of loss_dense_ce (sigmoid focal per token)");
  o.dense_bbox_coef = d.get_non_negative("bbox_coef", 5.0, "weight of loss_dense_bbox (L1 per positive token)");
  o.dense_giou_coef = d.get_non_negative("giou_coef", 2.0, "weight of loss_dense_giou (1 - GIoU per positive token)");
  return o;
}

DetrTrainingAids::DetrTrainingAids(const DetrTrainingAidsOptions& o, torch::nn::Module& owner, int64_t num_queries,
                                   int64_t d_model, int64_t num_classes)
    : options_(o) {
  if (o.learned_content) tgt_embed = owner.register_module("tgt_embed", torch::nn::Embedding(num_queries, d_model));
  if (o.train_groups < 1) throw ConfigError("model.train_groups: must be >= 1, got " + std::to_string(o.train_groups));
  if (o.train_groups > 1) {
    const int64_t extra = (o.train_groups - 1) * num_queries;
    query_embed_groups = owner.register_module("query_embed_groups", torch::nn::Embedding(extra, d_model));
    if (o.learned_content)
      tgt_embed_groups = owner.register_module("tgt_embed_groups", torch::nn::Embedding(extra, d_model));
  }
  if (o.dense_aux) aux_dense = owner.register_module("aux_dense", DenseAuxHead(d_model, num_classes));
}

DetrTrainingAids::Queries DetrTrainingAids::decoder_queries(const torch::Tensor& query_embed, bool training) const {
  Queries q;
  q.groups = training ? options_.train_groups : 1;
  q.position = query_embed;
  if (tgt_embed) q.content = tgt_embed->weight;
  if (q.groups > 1) {
    q.position = torch::cat({q.position, query_embed_groups->weight});
    if (q.content.defined()) q.content = torch::cat({q.content, tgt_embed_groups->weight});
  }
  return q;
}

LossDict DetrTrainingAids::dense_losses(
    const torch::Tensor& memory, const torch::Tensor& feat_mask, const Batch& batch, int64_t num_classes,
    const std::function<torch::Tensor(const torch::Tensor&)>& class_of_label) {
  LossDict losses;
  if (!aux_dense) return losses;
  auto t = dense_aux_targets(batch.targets, feat_mask, {batch.images.size(2), batch.images.size(3)}, num_classes,
                             class_of_label);
  auto [logits, boxes] = aux_dense->forward(memory);
  // Like DETR's num_boxes: summed over the data-parallel workers, divided by their number.
  double num_pos = t.positive.sum().item<double>();
  if (dist::distributed()) num_pos = dist::all_reduce_sum(num_pos) / dist::world_size();
  auto terms = dense_aux_losses(logits, boxes, t, num_pos);
  losses.insert("loss_dense_ce", terms[0] * options_.dense_ce_coef);
  losses.insert("loss_dense_bbox", terms[1] * options_.dense_bbox_coef);
  losses.insert("loss_dense_giou", terms[2] * options_.dense_giou_coef);
  return losses;
}

std::vector<std::string> DetrTrainingAids::training_only_prefixes() const {
  std::vector<std::string> out;
  if (aux_dense) out.push_back("aux_dense.");
  if (query_embed_groups) out.push_back("query_embed_groups.");
  if (tgt_embed_groups) out.push_back("tgt_embed_groups.");
  return out;
}

}  // namespace seer
