#include "models/backbones/swin.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/drop_path.h"

namespace seer {

namespace {

using torch::indexing::None;
using torch::indexing::Slice;

torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})); }

// LayerNorm in its weight's dtype: under CPU autocast (runtime.amp: bf16) the
// convs and Linears hand it bfloat16 maps, which LibTorch 1.13's layer_norm
// refuses next to float32 weights.
torch::Tensor apply_norm(torch::nn::LayerNorm& ln, const torch::Tensor& x) {
  const auto dtype = ln->weight.scalar_type();
  return ln->forward(x.scalar_type() == dtype ? x : x.to(dtype));
}

// timm's trunc_normal_(t, std=.02): its cut-offs are absolute, [-2, 2], i.e.
// 100 std, which a normal draw does not reach; the clamp only guards. (The
// inverse-CDF sampling of torch.nn.init.trunc_normal_ costs 14x more: seconds
// for Swin-L.)
void trunc_normal_02_(torch::Tensor t) {
  torch::NoGradGuard ng;
  t.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
}

// x [B, H, W, C] (H, W multiples of w) -> [B * H/w * W/w, w * w, C], windows
// in batch, row, column order.
torch::Tensor window_partition(const torch::Tensor& x, int64_t w) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  return x.view({B, H / w, w, W / w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, w * w, C});
}

// The inverse: [B * H/w * W/w, w * w, C] -> [B, H, W, C].
torch::Tensor window_reverse(const torch::Tensor& windows, int64_t w, int64_t H, int64_t W) {
  const int64_t C = windows.size(-1);
  return windows.view({-1, H / w, W / w, w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, H, W, C});
}

// The shifted-window mask of a padded map [Hp, Wp]: [nW, w*w, w*w], 0 within
// a region and -100 across regions. The regions are the official ones: the
// rows (and columns) [0, Hp - w), [Hp - w, Hp - shift), [Hp - shift, Hp),
// i.e. where the cyclic roll brought together tokens that are not neighbours.
torch::Tensor shifted_window_mask(int64_t Hp, int64_t Wp, int64_t w, int64_t shift, const torch::Device& device) {
  auto region = [&](int64_t n) {
    auto i = torch::arange(n, torch::TensorOptions().dtype(torch::kFloat).device(device));
    return (i >= n - w).to(torch::kFloat) + (i >= n - shift).to(torch::kFloat);  // 0, 1, 2
  };
  auto label = (region(Hp).view({Hp, 1}) * 3 + region(Wp).view({1, Wp})).view({1, Hp, Wp, 1});
  auto windows = window_partition(label, w).squeeze(-1);  // [nW, w*w]
  auto diff = windows.unsqueeze(1) - windows.unsqueeze(2);
  return torch::zeros_like(diff).masked_fill_(diff != 0, -100.0);
}

// W-MSA with relative position bias, for square windows of w x w tokens.
class WindowAttentionImpl : public torch::nn::Module {
 public:
  WindowAttentionImpl(int64_t dim, int64_t window, int64_t heads, bool qkv_bias)
      : window_(window), heads_(heads), scale_(std::pow(static_cast<double>(dim / heads), -0.5)) {
    // Registration order gives the official state_dict order (own tensors
    // first, then qkv, proj).
    relative_position_bias_table =
        register_parameter("relative_position_bias_table", torch::zeros({(2 * window - 1) * (2 * window - 1), heads}));
    // index[i, j] of tokens i = (yi, xi), j = (yj, xj) in the window:
    // (yi - yj + w - 1) * (2w - 1) + (xi - xj + w - 1).
    auto coords = torch::arange(window, torch::kLong);
    auto y = coords.view({window, 1}).expand({window, window}).reshape({-1});
    auto x = coords.view({1, window}).expand({window, window}).reshape({-1});
    auto dy = y.view({-1, 1}) - y.view({1, -1}) + (window - 1);
    auto dx = x.view({-1, 1}) - x.view({1, -1}) + (window - 1);
    relative_position_index = register_buffer("relative_position_index", dy * (2 * window - 1) + dx);
    qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
    proj = register_module("proj", torch::nn::Linear(dim, dim));
  }

  // x [nW*B, N, C], N = w*w; mask [nW, N, N] additive or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const int64_t Bn = x.size(0), N = x.size(1), C = x.size(2);
    auto qkv_ = qkv->forward(x).reshape({Bn, N, 3, heads_, C / heads_}).permute({2, 0, 3, 1, 4});
    auto q = qkv_[0] * scale_, k = qkv_[1], v = qkv_[2];
    auto attn = q.matmul(k.transpose(-2, -1));  // [nW*B, heads, N, N]
    // Module::to(dtype) converts integer buffers too: index with int64 again
    const auto index = relative_position_index.to(torch::kLong).view(-1);
    auto bias = relative_position_bias_table.index_select(0, index)
                    .view({N, N, heads_})
                    .permute({2, 0, 1});  // [heads, N, N]
    attn = attn + bias.unsqueeze(0);
    if (mask.defined()) {
      const int64_t nW = mask.size(0);
      attn = (attn.view({Bn / nW, nW, heads_, N, N}) + mask.unsqueeze(1).unsqueeze(0)).view({-1, heads_, N, N});
    }
    attn = attn.softmax(-1);
    // under autocast attn is float32 (the bias promotes it); matmul casts back
    return proj->forward(attn.matmul(v).transpose(1, 2).reshape({Bn, N, C}));
  }

  torch::Tensor relative_position_bias_table, relative_position_index;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  int64_t window_, heads_;
  double scale_;
};
TORCH_MODULE(WindowAttention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden) {
    fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2->forward(torch::gelu(fc1->forward(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

class SwinBlockImpl : public torch::nn::Module {
 public:
  SwinBlockImpl(int64_t dim, int64_t heads, int64_t window, int64_t shift, double mlp_ratio, bool qkv_bias,
                double drop_path)
      : window_(window), shift_(shift) {
    norm1 = register_module("norm1", layer_norm(dim));
    attn = register_module("attn", WindowAttention(dim, window, heads, qkv_bias));
    drop_path_ = register_module("drop_path", DropPath(drop_path));
    norm2 = register_module("norm2", layer_norm(dim));
    mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * mlp_ratio)));
  }

  // x [B, H, W, C]; mask: the shifted-window mask of the padded size (used
  // only when this block shifts).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const int64_t H = x.size(1), W = x.size(2);
    const int64_t pad_b = (window_ - H % window_) % window_, pad_r = (window_ - W % window_) % window_;
    // padded after norm1: the padded tokens are zeros, not normalised
    auto y = torch::constant_pad_nd(apply_norm(norm1, x), {0, 0, 0, pad_r, 0, pad_b});
    const int64_t Hp = H + pad_b, Wp = W + pad_r;
    if (shift_ > 0) y = torch::roll(y, {-shift_, -shift_}, {1, 2});
    y = attn->forward(window_partition(y, window_), shift_ > 0 ? mask : torch::Tensor());
    y = window_reverse(y, window_, Hp, Wp);  // [B, Hp, Wp, C]
    if (shift_ > 0) y = torch::roll(y, {shift_, shift_}, {1, 2});
    if (pad_b > 0 || pad_r > 0) y = y.index({Slice(), Slice(None, H), Slice(None, W)});
    auto out = x + drop_path_->forward(y);
    out = out + drop_path_->forward(mlp->forward(apply_norm(norm2, out)));
    return out;
  }

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  WindowAttention attn{nullptr};
  Mlp mlp{nullptr};

 private:
  int64_t window_, shift_;
  DropPath drop_path_{nullptr};
};
TORCH_MODULE(SwinBlock);

// Halves H and W (odd sizes zero-padded) and doubles C: the four 2x2
// neighbours concatenated in the official order, LayerNorm(4C), Linear(4C -> 2C).
class PatchMergingImpl : public torch::nn::Module {
 public:
  explicit PatchMergingImpl(int64_t dim) {
    reduction = register_module("reduction", torch::nn::Linear(torch::nn::LinearOptions(4 * dim, 2 * dim).bias(false)));
    norm = register_module("norm", layer_norm(4 * dim));
  }
  // [B, H, W, C] -> [B, ceil(H/2), ceil(W/2), 2C]
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::constant_pad_nd(x, {0, 0, 0, x.size(2) % 2, 0, x.size(1) % 2});
    auto even = Slice(0, None, 2), odd = Slice(1, None, 2);
    auto cat = torch::cat({y.index({Slice(), even, even}), y.index({Slice(), odd, even}),
                           y.index({Slice(), even, odd}), y.index({Slice(), odd, odd})},
                          -1);
    return reduction->forward(apply_norm(norm, cat));
  }
  torch::nn::Linear reduction{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(PatchMerging);

// One stage (the official BasicLayer): blocks, then the optional PatchMerging.
class SwinStageImpl : public torch::nn::Module {
 public:
  SwinStageImpl(int64_t dim, int64_t depth, int64_t heads, int64_t window, double mlp_ratio, bool qkv_bias,
                const std::vector<double>& drop_path, bool downsample)
      : window_(window) {
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t b = 0; b < depth; ++b)
      blocks->push_back(
          SwinBlock(dim, heads, window, b % 2 == 0 ? 0 : window / 2, mlp_ratio, qkv_bias, drop_path[b]));
    if (downsample) this->downsample = register_module("downsample", PatchMerging(dim));
  }

  // x [B, H, W, C] -> the stage output at the same size (before downsampling).
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor mask;
    if (blocks->size() > 1 && window_ / 2 > 0) {
      const int64_t Hp = (x.size(1) + window_ - 1) / window_ * window_;
      const int64_t Wp = (x.size(2) + window_ - 1) / window_ * window_;
      mask = shifted_window_mask(Hp, Wp, window_, window_ / 2, x.device());
    }
    for (const auto& block : *blocks) x = block->as<SwinBlock>()->forward(x, mask);
    return x;
  }

  torch::nn::ModuleList blocks{nullptr};
  PatchMerging downsample{nullptr};

 private:
  int64_t window_;
};
TORCH_MODULE(SwinStage);

}  // namespace

SwinOptions swin_variant(const std::string& name) {
  SwinOptions o;
  if (name == "tiny") return o;
  if (name == "small") {
    o.depths = {2, 2, 18, 2};
    return o;
  }
  if (name == "base" || name == "large") {
    o.embed_dim = name == "base" ? 128 : 192;
    o.depths = {2, 2, 18, 2};
    o.num_heads = name == "base" ? std::vector<int64_t>{4, 8, 16, 32} : std::vector<int64_t>{6, 12, 24, 48};
    o.window_size = 12;
    o.pretrain_img_size = 384;
    return o;
  }
  throw RuntimeError("Swin: unknown variant '" + name + "' (known: tiny, small, base, large)");
}

std::vector<std::string> swin_variants() { return {"tiny", "small", "base", "large"}; }

SwinTransformerImpl::SwinTransformerImpl(SwinOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  const int64_t S = num_stages();
  if (S < 1 || o.num_heads.size() != o.depths.size())
    throw RuntimeError("Swin: depths and num_heads must have the same number (>= 1) of stages");
  for (int64_t s = 0; s < S; ++s) {
    if (o.depths[s] < 1 || o.num_heads[s] < 1 || (o.embed_dim << s) % o.num_heads[s] != 0)
      throw RuntimeError("Swin: stage " + std::to_string(s + 1) + " needs depth >= 1 and heads dividing its " +
                         std::to_string(o.embed_dim << s) + " channels");
  }
  if (o.embed_dim < 1 || o.window_size < 1) throw RuntimeError("Swin: embed_dim and window_size must be >= 1");
  if (o.frozen_stages < -1 || o.frozen_stages > S + 1)
    throw RuntimeError("Swin: frozen_stages must be in -1.." + std::to_string(S + 1));
  if (o.drop_path_rate < 0 || o.drop_path_rate >= 1) throw RuntimeError("Swin: drop_path_rate must be in [0, 1)");
  if (o.out_stages.empty()) throw RuntimeError("Swin: out_stages is empty");
  for (size_t i = 0; i < o.out_stages.size(); ++i)
    if (o.out_stages[i] < 1 || o.out_stages[i] > S || (i > 0 && o.out_stages[i] <= o.out_stages[i - 1]))
      throw RuntimeError("Swin: out_stages must be increasing stages in 1.." + std::to_string(S));

  // Official registration order: absolute_pos_embed (own parameter) first,
  // then patch_embed, layers, norm{i}.
  if (o.ape) {
    const int64_t p = o.pretrain_img_size / 4;
    absolute_pos_embed_ = register_parameter("absolute_pos_embed", torch::zeros({1, o.embed_dim, p, p}));
  }
  auto patch_embed = register_module("patch_embed", std::make_shared<torch::nn::Module>());
  proj_ = patch_embed->register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, o.embed_dim, 4).stride(4)));
  patch_norm_ = patch_embed->register_module("norm", layer_norm(o.embed_dim));

  // stochastic depth: linear from 0 to drop_path_rate over all blocks
  int64_t total = 0;
  for (auto d : o.depths) total += d;
  auto dpr = torch::linspace(0, o.drop_path_rate, total, torch::kDouble);
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t first = 0;
  for (int64_t s = 0; s < S; ++s) {
    std::vector<double> rates;
    for (int64_t b = 0; b < o.depths[s]; ++b) rates.push_back(dpr[first + b].item<double>());
    first += o.depths[s];
    layers_->push_back(SwinStage(o.embed_dim << s, o.depths[s], o.num_heads[s], o.window_size, o.mlp_ratio,
                                 o.qkv_bias, rates, s + 1 < S));
  }
  for (auto stage : o.out_stages)
    out_norms_.push_back(register_module("norm" + std::to_string(stage - 1), layer_norm(stage_channels(stage))));

  // LayerNorm is already 1 / 0 and the patch conv keeps PyTorch's default.
  torch::NoGradGuard ng;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* linear = m->as<torch::nn::Linear>()) {
      trunc_normal_02_(linear->weight);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* attention = m->as<WindowAttention>()) {
      trunc_normal_02_(attention->relative_position_bias_table);
    }
  }
  if (o.ape) trunc_normal_02_(absolute_pos_embed_);
  apply_freezing();
  train(is_training());
}

void SwinTransformerImpl::apply_freezing() {
  const int64_t k = options_.frozen_stages;
  for (auto& kv : named_parameters()) {
    const std::string& n = kv.key();
    bool frozen = false;
    if (n.rfind("patch_embed.", 0) == 0) frozen = k >= 0;
    else if (n == "absolute_pos_embed") frozen = k >= 1;
    else if (n.rfind("layers.", 0) == 0) frozen = std::stoll(n.substr(7)) < k - 1;
    kv.value().set_requires_grad(!frozen);
  }
}

void SwinTransformerImpl::train(bool on) {
  Backbone::train(on);
  if (!on) return;
  const int64_t k = options_.frozen_stages;
  if (k >= 0) named_children()["patch_embed"]->eval();
  for (int64_t s = 0; s < std::min<int64_t>(k - 1, num_stages()); ++s) layers_[s]->eval();
}

std::vector<std::string> SwinTransformerImpl::pretrained_optional_prefixes() const {
  std::vector<std::string> out;
  for (auto stage : options_.out_stages) out.push_back("norm" + std::to_string(stage - 1) + ".");
  return out;
}

std::vector<torch::Tensor> SwinTransformerImpl::forward_features(const torch::Tensor& images) {
  const int64_t H = images.size(2), W = images.size(3);
  auto x = torch::constant_pad_nd(images, {0, (4 - W % 4) % 4, 0, (4 - H % 4) % 4});
  x = proj_->forward(x);  // [B, C, H/4, W/4]
  if (options_.ape) {
    auto pos = torch::nn::functional::interpolate(
        absolute_pos_embed_, torch::nn::functional::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                 .mode(torch::kBicubic)
                                 .align_corners(false));
    x = apply_norm(patch_norm_, x.permute({0, 2, 3, 1})) + pos.permute({0, 2, 3, 1});
  } else {
    x = apply_norm(patch_norm_, x.permute({0, 2, 3, 1}));  // [B, H/4, W/4, C]
  }

  std::vector<torch::Tensor> out;
  const int64_t last = options_.out_stages.back();
  size_t next = 0;
  for (int64_t s = 1; s <= last; ++s) {
    auto stage = layers_[s - 1]->as<SwinStage>();
    auto y = stage->forward(x);  // [B, H_s, W_s, C_s]
    if (options_.out_stages[next] == s) {
      out.push_back(apply_norm(out_norms_[next], y).permute({0, 3, 1, 2}).contiguous());  // [B, C_s, H_s, W_s]
      ++next;
    }
    if (s < last) x = stage->downsample->forward(y);
  }
  return out;
}

std::vector<int64_t> SwinTransformerImpl::strides() const {
  std::vector<int64_t> out;
  for (auto s : options_.out_stages) out.push_back(int64_t{2} << s);
  return out;
}

std::vector<int64_t> SwinTransformerImpl::channels() const {
  std::vector<int64_t> out;
  for (auto s : options_.out_stages) out.push_back(stage_channels(s));
  return out;
}

SwinOptions read_swin_options(const ConfigSection& b) {
  std::string known;
  for (const auto& v : swin_variants()) known += (known.empty() ? "" : ", ") + v;
  const auto variant = b.get<std::string>(
      "variant", "tiny", "Swin shape giving the defaults of embed_dim, depths, num_heads, window_size, pretrain_img_size: " + known);
  const auto names = swin_variants();
  if (std::find(names.begin(), names.end(), variant) == names.end())
    b.fail("variant", "unknown Swin variant '" + variant + "' (known: " + known + ")");
  SwinOptions o = swin_variant(variant);
  o.embed_dim = b.get<int64_t>("embed_dim", o.embed_dim, "channels of stage 1 (doubled per stage)");
  if (o.embed_dim < 1) b.fail("embed_dim", "must be >= 1");
  o.depths = b.get<std::vector<int64_t>>("depths", o.depths, "blocks per stage");
  if (o.depths.empty()) b.fail("depths", "needs at least one stage");
  for (auto d : o.depths)
    if (d < 1) b.fail("depths", "every stage needs at least one block");
  o.num_heads = b.get<std::vector<int64_t>>("num_heads", o.num_heads, "attention heads per stage");
  if (o.num_heads.size() != o.depths.size())
    b.fail("num_heads", "needs one entry per stage (" + std::to_string(o.depths.size()) + ", as depths)");
  for (size_t s = 0; s < o.num_heads.size(); ++s)
    if (o.num_heads[s] < 1 || (o.embed_dim << s) % o.num_heads[s] != 0)
      b.fail("num_heads", "stage " + std::to_string(s + 1) + ": " + std::to_string(o.num_heads[s]) +
                              " heads do not divide its " + std::to_string(o.embed_dim << s) + " channels");
  o.window_size = b.get<int64_t>("window_size", o.window_size, "attention window side in tokens (shift: half of it)");
  if (o.window_size < 1) b.fail("window_size", "must be >= 1");
  o.mlp_ratio = b.get<double>("mlp_ratio", o.mlp_ratio, "MLP hidden width / channels");
  if (o.mlp_ratio <= 0) b.fail("mlp_ratio", "must be > 0");
  o.qkv_bias = b.get<bool>("qkv_bias", o.qkv_bias, "bias on the packed qkv projection");
  o.drop_path_rate = b.get<double>("drop_path_rate", o.drop_path_rate,
                                   "stochastic depth of the last block (linear from 0 over all blocks)");
  if (o.drop_path_rate < 0 || o.drop_path_rate >= 1) b.fail("drop_path_rate", "must be in [0, 1)");
  o.ape = b.get<bool>("ape", o.ape, "absolute position embedding (off in the released models)");
  o.pretrain_img_size = b.get<int64_t>("pretrain_img_size", o.pretrain_img_size,
                                       "image side of the pretraining (the absolute position embedding's grid is a quarter of it)");
  if (o.pretrain_img_size < 4) b.fail("pretrain_img_size", "must be >= 4");
  const auto stages = static_cast<int64_t>(o.depths.size());
  o.frozen_stages = b.get<int64_t>(
      "frozen_stages", o.frozen_stages,
      "-1 none (official), 0 patch_embed, 1 also absolute_pos_embed, k >= 2 also layers 0..k-2");
  if (o.frozen_stages < -1 || o.frozen_stages > stages + 1)
    b.fail("frozen_stages", "must be in -1.." + std::to_string(stages + 1));
  return o;
}

BackboneSpec swin_backbone(const SwinOptions& options) {
  BackboneSpec spec;
  spec.type = "swin";
  spec.num_stages = static_cast<int64_t>(options.depths.size());
  spec.build = [options](const std::vector<int64_t>& out_stages) -> std::shared_ptr<Backbone> {
    SwinOptions o = options;
    o.out_stages = out_stages;
    return SwinTransformer(o).ptr();
  };
  return spec;
}

BackboneSpec read_swin_spec(const ConfigSection& b) {
  BackboneSpec spec = swin_backbone(read_swin_options(b));
  spec.pretrained = b.get<std::string>(
      "pretrained", "",
      "ImageNet Swin classifier weights (e.g. swin_tiny_patch4_window7_224.pth) loaded before training ('' = random init)");
  return spec;
}

}  // namespace seer
