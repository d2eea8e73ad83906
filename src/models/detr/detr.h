#pragma once
// DETR (Carion et al. 2020; facebookresearch/detr models/detr.py): a ResNet
// backbone, a 1x1 input projection, the DETR transformer with learned object
// queries, and per decoder layer a linear class head (num_classes + 1 with
// no-object last) and a 3-layer MLP box head (sigmoid, normalised cxcywh
// relative to each image's UNPADDED size).
//
// Module names equal the official state_dict, so official checkpoints load
// with no key map: backbone.0.body.* (ResNet), backbone.1 (position
// embedding; no parameters for sine, row_embed/col_embed for learned),
// input_proj, query_embed, transformer.*, class_embed, bbox_embed.layers.{0,1,2}.
//
// The aids for training from scratch (learned decoder content, Group DETR,
// the dense auxiliary head) live in detr/training_aids.h, off by default (then
// the model is exactly the official one).
//
// Label spaces (`model.label_space`):
//   contiguous   model class c = the dataset's contiguous index c;
//   dataset_ids  model class c = dataset category id c, as official COCO DETR
//                (91 classes, no-object 91). Targets' contiguous labels are
//                mapped to ids before the loss; predicted classes map back with
//                CategoryTable::index_of.
// predict() follows the official PostProcess (softmax, drop no-object, max over
// classes, all queries returned, boxes scaled to Target::orig_size) with one
// addition: classes that no dataset category maps to (unused COCO ids, or
// classes beyond the table) are masked out BEFORE the max, so they are never
// reported; whenever the official winner is a real category, score and label
// are identical to the official ones.
//
// `loss.classification: focal` (off by default) switches to Deformable DETR's
// classification: class_embed has num_classes sigmoid logits (no no-object
// column; bias initialised to prior probability 0.01), sigmoid focal loss and
// the focal matching cost, and postprocessing keeps the top
// min(Q * C, max(Q, 100)) (query, class) pairs by sigmoid score.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "losses/set_criterion.h"
#include "models/backbones/backbone.h"
#include "models/backbones/resnet.h"
#include "models/detr/training_aids.h"
#include "models/model.h"
#include "models/transformers/detr_transformer.h"
#include "ops/mlp.h"
#include "ops/position_encoding.h"

namespace seer {

enum class LabelSpace { Contiguous, DatasetIds };

struct DetrOptions {
  int64_t num_classes = -1;  // -1: from the category table (see read_detr_spec)
  LabelSpace label_space = LabelSpace::Contiguous;
  int64_t num_queries = 100;
  bool aux_loss = true;
  BackboneSpec backbone = resnet_backbone(ResNetOptions{});  // official: ResNet-50, FrozenBN, layer1 frozen
  std::string position_embedding = "sine";  // sine | learned
  DetrTransformerOptions transformer;
  SetCriterionOptions loss;  // num_classes is filled in by the model
  DetrTrainingAidsOptions aids;
};

class Detr : public Model {
 public:
  Detr(DetrOptions options, CategoryTable categories);

  // Every decoder layer's raw outputs (the one forward all entry points run).
  struct ForwardOutput {
    // B is groups * batch (group-major) when training with train_groups > 1
    torch::Tensor logits;  // [L, B, Q, num_classes + 1] (focal: num_classes)
    torch::Tensor boxes;   // [L, B, Q, 4] normalised cxcywh
    torch::Tensor memory;     // [B, D, h, w] encoder output
    torch::Tensor feat_mask;  // [B, h, w] bool, true = padding
  };
  // images [B, 3, H, W] float; mask [B, H, W] bool (true = padding)
  ForwardOutput forward(const torch::Tensor& images, const torch::Tensor& mask);

  LossDict loss(const Batch& batch) override;  // = loss_from_outputs(forward(images, mask), batch)
  // The losses of given forward outputs against the batch's targets (matching,
  // set criterion, dense auxiliary losses). Public so a profiler can time the
  // forward and the loss apart (scripts/bench/bench_detr_step.cpp).
  LossDict loss_from_outputs(ForwardOutput out, const Batch& batch);
  // Runs without gradient in the module's current mode (call eval() first).
  std::vector<Prediction> predict(const Batch& batch) override;
  // (images, mask) -> (pred_logits [B, Q, C+1] (focal: C), pred_boxes [B, Q, 4]) of the last layer.
  std::vector<torch::Tensor> forward_tensors(const std::vector<torch::Tensor>& inputs) override;
  std::vector<std::string> export_input_names() const override { return {"images", "mask"}; }
  std::vector<std::string> export_output_names() const override { return {"pred_logits", "pred_boxes"}; }
  std::vector<torch::Tensor> example_inputs(int64_t height, int64_t width) const override;
  std::string family() const override { return "detr"; }
  // the training aids' (aux_dense., query_embed_groups., tgt_embed_groups.)
  std::vector<std::string> training_only_prefixes() const override;

  const DetrOptions& options() const { return options_; }
  const CategoryTable& categories() const { return categories_; }
  // The model class of each contiguous label [N] (identity for contiguous).
  torch::Tensor labels_to_classes(const torch::Tensor& labels) const;
  // Official PostProcess + label mapping for given raw outputs of one layer
  // (logits [B, Q, C+1] (focal: C, Deformable DETR's top-k), boxes [B, Q, 4]);
  // orig_sizes: (h, w) per image.
  std::vector<Prediction> postprocess(const torch::Tensor& logits, const torch::Tensor& boxes,
                                      const std::vector<std::array<int64_t, 2>>& orig_sizes) const;

  std::shared_ptr<Backbone> body;  // backbone.0.body
  std::shared_ptr<PositionEmbedding> position_embedding;  // backbone.1
  torch::nn::Conv2d input_proj{nullptr};
  torch::nn::Embedding query_embed{nullptr};
  DetrTransformer transformer{nullptr};
  torch::nn::Linear class_embed{nullptr};
  MLP bbox_embed{nullptr};
  const DetrTrainingAids& aids() const { return aids_; }

 private:
  DetrOptions options_;
  CategoryTable categories_;
  DetrTrainingAids aids_;
  SetCriterion criterion_;
  torch::Tensor class_of_label_;  // [num labels] long: contiguous label -> model class
  torch::Tensor label_of_class_;  // [num_classes] long: model class -> contiguous label, -1 = none
  bool all_classes_reportable_ = true;
};

// Reads model.{num_classes, label_space, num_queries, aux_loss, backbone.*
// (through the backbone table), transformer.*, the training aids' keys} and
// loss.{set_cost_*, *_loss_coef, eos_coef, classification, focal_alpha,
// focal_gamma}; the returned
// spec's build() checks num_classes against the dataset's category table.
ModelSpec read_detr_spec(const ConfigSection& root);

}  // namespace seer
