#pragma once
// The image backbones every family shares, behind one interface and one table
// (`model.backbone.type`): a backbone maps images to multi-scale feature maps
// and says their strides and channels, so a neck or a transformer can be
// built for any of them. Families ask for the stages they use (DETR: the last;
// Deformable DETR / Grounding DINO: three or four).
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"

namespace seer {

class Backbone : public torch::nn::Module {
 public:
  // [B, 3, H, W] -> the requested maps, finest first.
  virtual std::vector<torch::Tensor> forward_features(const torch::Tensor& images) = 0;
  // The last requested map.
  torch::Tensor forward(const torch::Tensor& images) { return forward_features(images).back(); }
  // Per requested map: its stride in pixels and its channels.
  virtual std::vector<int64_t> strides() const = 0;
  virtual std::vector<int64_t> channels() const = 0;
  // State-dict prefixes of an ImageNet classification checkpoint that are not
  // part of the backbone (ResNet: "fc."), dropped by load_pretrained_backbone.
  virtual std::vector<std::string> classifier_prefixes() const { return {}; }
  // State-dict suffixes of buffers the backbone computes itself (Swin's
  // relative_position_index, a classifier's attn_mask): load_pretrained_backbone
  // drops them from the file and keeps the backbone's own.
  virtual std::vector<std::string> derived_buffer_suffixes() const { return {}; }
  // Prefixes of the backbone's own keys that an ImageNet classifier lacks
  // (Swin's per-output norms, which detection adds): they keep their init.
  virtual std::vector<std::string> pretrained_optional_prefixes() const { return {}; }
  // Re-applies the backbone's requires_grad rule (frozen stages) after weights
  // were loaded, since loading does not touch requires_grad.
  virtual void apply_freezing() {}
};

// What reading `model.backbone` gives: its keys are declared and validated at
// once; build() constructs the backbone with the stages a family asks for
// (1-based stage indices, e.g. {4} for DETR, {2, 3, 4} for Deformable DETR).
struct BackboneSpec {
  std::string type;        // model.backbone.type
  std::string pretrained;  // model.backbone.pretrained: ImageNet weights ('' = none)
  int64_t num_stages = 4;  // the stages build() accepts: 1..num_stages
  std::function<std::shared_ptr<Backbone>(const std::vector<int64_t>& out_stages)> build;
};

// Reads `backbone.type` (default `default_type`) and dispatches through the
// table; an unknown type is a ConfigError naming the key and listing the known
// ones (today: resnet, swin; vit and csp_darknet arrive with their families).
BackboneSpec read_backbone_spec(const ConfigSection& backbone, const std::string& default_type = "resnet");
std::vector<std::string> backbone_types();

// Loads an ImageNet classification checkpoint into a backbone: the
// backbone's classifier_prefixes(), its derived_buffer_suffixes() and counters
// the backbone does not hold (num_batches_tracked of a frozen-BN body) are
// ignored, keys under pretrained_optional_prefixes() may be absent (they and
// the derived buffers keep the backbone's values), everything else must match
// strictly. Logs what was loaded.
void load_pretrained_backbone(Backbone& backbone, const std::string& path);

}  // namespace seer
