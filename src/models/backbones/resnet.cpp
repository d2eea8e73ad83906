#include "models/backbones/resnet.h"

#include <algorithm>

#include "core/error.h"
#include "ops/frozen_batch_norm.h"

namespace seer {

namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t dilation = 1) {
  int64_t pad = k == 3 ? dilation : 0;
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).dilation(dilation).bias(false));
}

// torchvision BasicBlock / Bottleneck in one class: `bottleneck` picks the
// 1x1-3x3-1x1 form (expansion 4) over the 3x3-3x3 form (expansion 1).
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(bool bottleneck, int64_t inplanes, int64_t planes, int64_t stride, int64_t dilation,
            bool downsample, ResNetNorm norm)
      : bottleneck_(bottleneck) {
    const int64_t exp = bottleneck ? 4 : 1;
    if (bottleneck) {
      conv1_ = register_module("conv1", conv(inplanes, planes, 1));
      bn1_ = make_resnet_norm(norm, planes);
      register_module("bn1", bn1_.ptr());
      conv2_ = register_module("conv2", conv(planes, planes, 3, stride, dilation));
      bn2_ = make_resnet_norm(norm, planes);
      register_module("bn2", bn2_.ptr());
      conv3_ = register_module("conv3", conv(planes, planes * exp, 1));
      bn3_ = make_resnet_norm(norm, planes * exp);
      register_module("bn3", bn3_.ptr());
    } else {
      conv1_ = register_module("conv1", conv(inplanes, planes, 3, stride, dilation));
      bn1_ = make_resnet_norm(norm, planes);
      register_module("bn1", bn1_.ptr());
      conv2_ = register_module("conv2", conv(planes, planes, 3, 1, dilation));
      bn2_ = make_resnet_norm(norm, planes);
      register_module("bn2", bn2_.ptr());
    }
    if (downsample) {
      downsample_ = torch::nn::Sequential();
      downsample_->push_back(conv(inplanes, planes * exp, 1, stride));
      downsample_->push_back(make_resnet_norm(norm, planes * exp));
      register_module("downsample", downsample_);
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    // In place where torchvision is (ReLU(inplace=True), out += identity): the
    // outputs of the norm layers are fresh tensors their backward does not need,
    // and skipping the copies saves memory traffic (measured by
    // scripts/bench/bench_detr_step.py).
    auto out = bn1_.forward(conv1_->forward(x)).relu_();
    out = bn2_.forward(conv2_->forward(out));
    if (bottleneck_) out = bn3_.forward(conv3_->forward(out.relu_()));
    auto identity = downsample_ ? downsample_->forward(x) : x;
    if (out.scalar_type() == identity.scalar_type()) return out.add_(identity).relu_();
    return (out + identity).relu_();  // mixed dtypes under autocast: promote
  }

 private:
  bool bottleneck_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::AnyModule bn1_, bn2_, bn3_;
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Block);

std::vector<int64_t> stage_blocks(int64_t depth) {
  switch (depth) {
    case 18: return {2, 2, 2, 2};
    case 34: return {3, 4, 6, 3};
    case 50: return {3, 4, 6, 3};
    case 101: return {3, 4, 23, 3};
    case 152: return {3, 8, 36, 3};
    default:
      throw RuntimeError("ResNet: depth must be one of 18, 34, 50, 101, 152, got " + std::to_string(depth));
  }
}

}  // namespace

namespace {
// BatchNorm2d that normalises in its parameters' dtype: under CPU autocast
// (runtime.amp: bf16) convolutions hand it bfloat16 maps, which LibTorch 1.13's
// batch_norm refuses next to float32 weights. Same names and state as BatchNorm2d.
class AmpBatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    const auto dtype = weight.defined() ? weight.scalar_type() : torch::kFloat;
    return torch::nn::BatchNorm2dImpl::forward(x.scalar_type() == dtype ? x : x.to(dtype));
  }
  void pretty_print(std::ostream& stream) const override {
    stream << "torch::nn::BatchNorm2d(" << options.num_features() << ")";
  }
};
TORCH_MODULE(AmpBatchNorm2d);
}  // namespace

torch::nn::AnyModule make_resnet_norm(ResNetNorm norm, int64_t channels) {
  if (norm == ResNetNorm::FrozenBN) return torch::nn::AnyModule(FrozenBatchNorm2d(channels));
  return torch::nn::AnyModule(AmpBatchNorm2d(channels));
}

ResNetImpl::ResNetImpl(ResNetOptions options) : options_(std::move(options)) {
  const auto blocks = stage_blocks(options_.depth);
  const bool bottleneck = options_.depth >= 50;
  expansion_ = bottleneck ? 4 : 1;
  if (options_.frozen_stages < 0 || options_.frozen_stages > 4)
    throw RuntimeError("ResNet: frozen_stages must be in 0..4, got " + std::to_string(options_.frozen_stages));
  if (options_.return_layers.empty()) throw RuntimeError("ResNet: return_layers is empty");
  for (auto l : options_.return_layers)
    if (l < 1 || l > 4) throw RuntimeError("ResNet: return_layers entries must be in 1..4, got " + std::to_string(l));

  conv1 = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = make_resnet_norm(options_.norm, 64);
  register_module("bn1", bn1.ptr());

  // torchvision _make_layer: with dilate, the stage's stride becomes dilation;
  // its first block keeps the previous dilation.
  int64_t inplanes = 64, dilation = 1;
  torch::nn::Sequential* stages[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int64_t s = 0; s < 4; ++s) {
    const int64_t planes = 64 << s;
    int64_t stride = s == 0 ? 1 : 2;
    const int64_t previous_dilation = dilation;
    if (s == 3 && options_.dilation) {
      dilation *= stride;
      stride = 1;
    }
    torch::nn::Sequential seq;
    const bool down = stride != 1 || inplanes != planes * expansion_;
    seq->push_back(Block(bottleneck, inplanes, planes, stride, previous_dilation, down, options_.norm));
    inplanes = planes * expansion_;
    for (int64_t b = 1; b < blocks[s]; ++b)
      seq->push_back(Block(bottleneck, inplanes, planes, 1, dilation, false, options_.norm));
    *stages[s] = register_module("layer" + std::to_string(s + 1), seq);
  }

  torch::NoGradGuard ng;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>())
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
  }
  apply_freezing();
}

void ResNetImpl::apply_freezing() {
  const int64_t frozen = options_.train ? options_.frozen_stages : 4;
  for (auto& kv : named_parameters()) {
    const std::string& n = kv.key();
    int64_t stage = 0;  // stem
    if (n.rfind("layer", 0) == 0) stage = n[5] - '0';
    kv.value().set_requires_grad(frozen > 0 && stage <= frozen ? false : true);
  }
}

int64_t ResNetImpl::stage_channels(int64_t stage) const { return (int64_t{64} << (stage - 1)) * expansion_; }

std::vector<torch::Tensor> ResNetImpl::forward_features(const torch::Tensor& x) {
  auto y = bn1.forward(conv1->forward(x)).relu_();
  y = torch::max_pool2d(y, 3, 2, 1);
  std::vector<torch::Tensor> out;
  torch::nn::Sequential stages[4] = {layer1, layer2, layer3, layer4};
  const int64_t last = *std::max_element(options_.return_layers.begin(), options_.return_layers.end());
  for (int64_t s = 1; s <= last; ++s) {
    y = stages[s - 1]->forward(y);
    if (std::find(options_.return_layers.begin(), options_.return_layers.end(), s) != options_.return_layers.end())
      out.push_back(y);
  }
  return out;
}

std::vector<int64_t> ResNetImpl::strides() const {
  std::vector<int64_t> out;
  for (auto l : options_.return_layers) out.push_back(l == 4 && options_.dilation ? 16 : int64_t{2} << l);
  return out;
}

std::vector<int64_t> ResNetImpl::channels() const {
  std::vector<int64_t> out;
  for (auto l : options_.return_layers) out.push_back(stage_channels(l));
  return out;
}

ResNetOptions read_resnet_options(const ConfigSection& b) {
  ResNetOptions bo;
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
  return bo;
}

BackboneSpec resnet_backbone(const ResNetOptions& options) {
  BackboneSpec spec;
  spec.type = "resnet";
  spec.num_stages = 4;
  spec.build = [options](const std::vector<int64_t>& out_stages) -> std::shared_ptr<Backbone> {
    ResNetOptions o = options;
    o.return_layers = out_stages;
    return ResNet(o).ptr();
  };
  return spec;
}

BackboneSpec read_resnet_spec(const ConfigSection& b) {
  BackboneSpec spec = resnet_backbone(read_resnet_options(b));
  spec.pretrained = b.get<std::string>(
      "pretrained", "",
      "torchvision ResNet weights (e.g. resnet50-0676ba61.pth) loaded into the backbone before training ('' = random init)");
  return spec;
}

}  // namespace seer
