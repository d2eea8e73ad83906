#pragma once
// Aids for training DETR from scratch (configs/detr/detr_r18_synthetic.yaml),
// each off by default so that the model is exactly the official DETR:
//
// - learned decoder content (`model.decoder_content: learned`): the decoder
//   starts from a learned embedding per query (tgt_embed, as Deformable DETR)
//   instead of zeros, so queries differ from the first layer on and do not
//   collapse onto one prediction; used in inference too.
// - Group DETR (`model.train_groups: G`): during training G groups of
//   num_queries queries, each decoded on its own and matched one-to-one
//   (transformers/query_groups.h); the loss averages the groups. Inference uses
//   group 0 only (query_embed / tgt_embed); groups 1.. are query_embed_groups /
//   tgt_embed_groups.
// - the auxiliary dense head (`model.dense_aux.enabled`): every encoder token
//   predicts the class and box of the object it lies in (heads/dense_aux_head.h).
//
// The parameters are registered on the model under these names (tgt_embed,
// query_embed_groups, tgt_embed_groups, aux_dense.*); those used only in
// training are listed by training_only_prefixes() and left out by `seer export`.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/types.h"
#include "models/heads/dense_aux_head.h"

namespace seer {

struct DetrTrainingAidsOptions {
  bool learned_content = false;
  int64_t train_groups = 1;  // 1 = off
  bool dense_aux = false;
  double dense_ce_coef = 2.0, dense_bbox_coef = 5.0, dense_giou_coef = 2.0;
};

// Reads model.decoder_content, model.train_groups and model.dense_aux.*.
DetrTrainingAidsOptions read_detr_training_aids(const ConfigSection& model);

class DetrTrainingAids {
 public:
  DetrTrainingAids() = default;
  // Registers the enabled aids' parameters on `owner` (the model).
  DetrTrainingAids(const DetrTrainingAidsOptions& options, torch::nn::Module& owner, int64_t num_queries,
                   int64_t d_model, int64_t num_classes);

  // The decoder's queries: positions [G * Q, D] and content [G * Q, D]
  // (undefined = zeros, the official DETR), G = train_groups in training, else 1.
  struct Queries {
    torch::Tensor position, content;
    int64_t groups = 1;
  };
  Queries decoder_queries(const torch::Tensor& query_embed, bool training) const;

  // The weighted dense auxiliary losses (loss_dense_ce, loss_dense_bbox,
  // loss_dense_giou) of the encoder memory [B, D, h, w]; empty when the head is off.
  LossDict dense_losses(const torch::Tensor& memory, const torch::Tensor& feat_mask, const Batch& batch,
                        int64_t num_classes,
                        const std::function<torch::Tensor(const torch::Tensor&)>& class_of_label);

  std::vector<std::string> training_only_prefixes() const;
  const DetrTrainingAidsOptions& options() const { return options_; }

  torch::nn::Embedding tgt_embed{nullptr};  // learned content
  torch::nn::Embedding query_embed_groups{nullptr}, tgt_embed_groups{nullptr};  // groups 1..
  DenseAuxHead aux_dense{nullptr};

 private:
  DetrTrainingAidsOptions options_;
};

}  // namespace seer
