#pragma once
// torchvision's ResNet (v1.5: stride on the 3x3 conv of a Bottleneck) as the
// DETR family uses it: the stem and four stages, no avgpool / fc. Module
// names are torchvision's (conv1, bn1, layer1..4.{i}.conv1/bn1/.../
// downsample.{0,1}), so torchvision and DETR checkpoints load without mapping.
//
// - depth 18/34 (BasicBlock) or 50/101/152 (Bottleneck);
// - norm: FrozenBatchNorm2d (official DETR; buffers only) or trainable
//   BatchNorm2d (training from scratch, e.g. on synthetic data);
// - dilation: layer4 with stride 1 and dilation 2 (DETR's "DC5"). torchvision
//   refuses it for BasicBlock (ResNet-18/34); seer allows it (both 3x3 convs of
//   the block dilated), e.g. for a stride-16 ResNet-18 trained from scratch;
// - frozen_stages: parameters of conv1+bn1 and layer1..k get
//   requires_grad=false (DETR: 1; train=false freezes everything, as DETR does
//   when lr_backbone is 0). Frozen BatchNorm2d layers still update their
//   running statistics in training mode; use frozen_bn to avoid that.
// - init: kaiming_normal(fan_out, relu) for convs, BN weight 1 / bias 0 (the
//   torchvision default, no zero_init_residual).
#include <torch/torch.h>

#include <vector>

#include "core/config.h"
#include "models/backbones/backbone.h"

namespace seer {

enum class ResNetNorm { FrozenBN, BatchNorm };

struct ResNetOptions {
  int64_t depth = 50;
  bool dilation = false;  // DC5
  ResNetNorm norm = ResNetNorm::FrozenBN;
  int64_t frozen_stages = 1;  // 0 none, 1 conv1+bn1+layer1, ..., 4 all
  bool train = true;          // false: every parameter frozen
  // Stages whose maps forward_features() returns, 1..4 (DETR: {4};
  // segmentation / Deformable DETR: more). Set by the family that builds the
  // backbone (BackboneSpec::build), not by the config.
  std::vector<int64_t> return_layers = {4};
};

class ResNetImpl : public Backbone {
 public:
  explicit ResNetImpl(ResNetOptions options = {});

  // [B, 3, H, W] -> the requested stage outputs, in increasing stage order
  // (forward() gives the last: layer4 is [B, C, H/32, W/32]).
  std::vector<torch::Tensor> forward_features(const torch::Tensor& x) override;
  std::vector<int64_t> strides() const override;
  std::vector<int64_t> channels() const override;
  std::vector<std::string> classifier_prefixes() const override { return {"fc."}; }

  // Channels of stage k (1..4): 64k' * expansion; num_channels() = stage 4.
  int64_t stage_channels(int64_t stage) const;
  int64_t num_channels() const { return stage_channels(4); }
  const ResNetOptions& options() const { return options_; }

  // Re-apply the requires_grad rule of frozen_stages / train (after loading
  // weights, for example, since loading does not touch requires_grad).
  void apply_freezing() override;

 private:
  ResNetOptions options_;
  int64_t expansion_ = 1;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::AnyModule bn1;
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
};
TORCH_MODULE(ResNet);

// Reads model.backbone.{depth, dilation, norm, frozen_stages, train} (the
// stages returned are the family's choice, not a config key).
ResNetOptions read_resnet_options(const ConfigSection& backbone);
// The `resnet` entry of the backbone table (models/backbones/backbone.h): the
// options above plus `pretrained` (torchvision ImageNet weights).
BackboneSpec read_resnet_spec(const ConfigSection& backbone);

// A ResNet with these options as a backbone-table entry (for building models
// in code; pretrained empty).
BackboneSpec resnet_backbone(const ResNetOptions& options);

// A norm layer of the chosen kind as an AnyModule (forward(Tensor) -> Tensor).
torch::nn::AnyModule make_resnet_norm(ResNetNorm norm, int64_t channels);

}  // namespace seer
