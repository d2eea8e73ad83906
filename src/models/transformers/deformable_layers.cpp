#include "models/transformers/deformable_layers.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/norm.h"
#include "ops/attention.h"

namespace seer {

namespace {

namespace F = torch::nn::functional;

torch::Tensor drop(const torch::Tensor& x, double p, bool training) {
  return p > 0 && training ? F::dropout(x, F::DropoutFuncOptions().p(p).training(true)) : x;
}

MSDeformAttention make_msda(const DeformableLayerOptions& o) {
  MSDeformAttentionOptions m;
  m.d_model = o.d_model;
  m.n_levels = o.n_levels;
  m.n_heads = o.n_heads;
  m.n_points = o.n_points;
  return MSDeformAttention(m);
}

}  // namespace

DeformableEncoderLayerImpl::DeformableEncoderLayerImpl(const DeformableLayerOptions& o) : dropout_(o.dropout) {
  self_attn = register_module("self_attn", make_msda(o));
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  linear1 = register_module("linear1", torch::nn::Linear(o.d_model, o.d_ffn));
  linear2 = register_module("linear2", torch::nn::Linear(o.d_ffn, o.d_model));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
}

torch::Tensor DeformableEncoderLayerImpl::forward(const torch::Tensor& src, const torch::Tensor& pos,
                                                  const torch::Tensor& reference_points, const MultiScaleInput& in) {
  const bool tr = is_training();
  auto x = self_attn->forward(pos.defined() ? src + pos : src, reference_points, src, in.spatial_shapes,
                              in.level_start_index, in.padding_mask);
  auto out = apply_norm(norm1, src + drop(x, dropout_, tr));
  auto f = linear2->forward(drop(torch::relu(linear1->forward(out)), dropout_, tr));
  return apply_norm(norm2, out + drop(f, dropout_, tr));
}

DeformableDecoderLayerImpl::DeformableDecoderLayerImpl(const DeformableLayerOptions& o) : dropout_(o.dropout) {
  const auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})); };
  cross_attn = register_module("cross_attn", make_msda(o));
  norm1 = register_module("norm1", ln());
  if (o.text_cross_attention) {
    ca_text = register_module(
        "ca_text", torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(o.d_model, o.n_heads).dropout(o.dropout)));
    catext_norm = register_module("catext_norm", ln());
  }
  self_attn = register_module(
      "self_attn", torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(o.d_model, o.n_heads).dropout(o.dropout)));
  norm2 = register_module("norm2", ln());
  linear1 = register_module("linear1", torch::nn::Linear(o.d_model, o.d_ffn));
  linear2 = register_module("linear2", torch::nn::Linear(o.d_ffn, o.d_model));
  norm3 = register_module("norm3", ln());
}

torch::Tensor DeformableDecoderLayerImpl::forward(const torch::Tensor& tgt_in, const torch::Tensor& query_pos,
                                                  const torch::Tensor& reference_points, const torch::Tensor& memory,
                                                  const MultiScaleInput& in, const torch::Tensor& text,
                                                  const torch::Tensor& text_padding,
                                                  const torch::Tensor& self_attn_mask) {
  const bool tr = is_training();
  // nn.MultiheadAttention runs sequence first: [Q, B, C].
  auto tgt = tgt_in.transpose(0, 1);
  auto qpos = query_pos.transpose(0, 1);
  auto q = tgt + qpos;
  torch::Tensor sa;
  if (self_attn_mask.defined()) {
    const int64_t B = tgt.size(1);
    sa = multihead_attention_masked(self_attn, q, q, tgt, self_attn_mask.unsqueeze(0).expand({B, -1, -1}));
  } else {
    sa = multihead_attention(self_attn, q, q, tgt);
  }
  tgt = apply_norm(norm2, tgt + drop(sa, dropout_, tr));
  if (!ca_text.is_empty()) {
    if (!text.defined()) throw RuntimeError("deformable decoder layer: text cross-attention needs the text features");
    auto t = text.transpose(0, 1);  // [T, B, C]
    auto ca = multihead_attention(ca_text, tgt + qpos, t, t, text_padding);
    tgt = apply_norm(catext_norm, tgt + drop(ca, dropout_, tr));
  }
  auto x = tgt.transpose(0, 1);  // [B, Q, C]
  auto ms = cross_attn->forward(x + query_pos, reference_points, memory, in.spatial_shapes, in.level_start_index,
                                in.padding_mask);
  x = apply_norm(norm1, x + drop(ms, dropout_, tr));
  auto f = linear2->forward(drop(torch::relu(linear1->forward(x)), dropout_, tr));
  return apply_norm(norm3, x + drop(f, dropout_, tr));
}

torch::Tensor valid_ratio(const torch::Tensor& mask) {
  using torch::indexing::Slice;
  const int64_t H = mask.size(1), W = mask.size(2);
  auto valid_h = mask.index({Slice(), Slice(), 0}).logical_not().sum(1).to(torch::kFloat) / static_cast<double>(H);
  auto valid_w = mask.index({Slice(), 0, Slice()}).logical_not().sum(1).to(torch::kFloat) / static_cast<double>(W);
  return torch::stack({valid_w, valid_h}, -1);
}

MultiScaleInput flatten_levels(const std::vector<torch::Tensor>& masks) {
  if (masks.empty()) throw RuntimeError("flatten_levels: no feature level");
  MultiScaleInput in;
  std::vector<int64_t> shapes, starts;
  std::vector<torch::Tensor> flat, ratios;
  int64_t start = 0;
  for (const auto& m : masks) {
    shapes.push_back(m.size(1));
    shapes.push_back(m.size(2));
    starts.push_back(start);
    start += m.size(1) * m.size(2);
    flat.push_back(m.flatten(1));
    ratios.push_back(valid_ratio(m));
  }
  const auto dev = masks[0].device();
  in.spatial_shapes = torch::tensor(shapes, torch::kLong).view({-1, 2}).to(dev);
  in.level_start_index = torch::tensor(starts, torch::kLong).to(dev);
  in.padding_mask = torch::cat(flat, 1);
  in.valid_ratios = torch::stack(ratios, 1);  // [B, L, 2]
  return in;
}

torch::Tensor encoder_reference_points(const MultiScaleInput& in, torch::Dtype dtype) {
  auto shapes = in.spatial_shapes.to(torch::kCPU);
  const int64_t L = shapes.size(0);
  const auto vr = in.valid_ratios.to(torch::kFloat);
  const auto opts = vr.options();
  std::vector<torch::Tensor> refs;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t H = shapes[l][0].item<int64_t>(), W = shapes[l][1].item<int64_t>();
    auto ys = torch::linspace(0.5, H - 0.5, H, opts), xs = torch::linspace(0.5, W - 0.5, W, opts);
    auto grid = torch::meshgrid({ys, xs}, "ij");
    auto ry = grid[0].reshape({1, -1}) / (vr.select(1, l).select(1, 1).unsqueeze(1) * static_cast<double>(H));
    auto rx = grid[1].reshape({1, -1}) / (vr.select(1, l).select(1, 0).unsqueeze(1) * static_cast<double>(W));
    refs.push_back(torch::stack({rx, ry}, -1));  // [B, HW, 2]
  }
  auto ref = torch::cat(refs, 1);                        // [B, S, 2]
  return (ref.unsqueeze(2) * vr.unsqueeze(1)).to(dtype);  // [B, S, L, 2]
}

std::pair<torch::Tensor, torch::Tensor> encoder_output_proposals(const torch::Tensor& memory,
                                                                 const MultiScaleInput& in) {
  using torch::indexing::Slice;
  auto shapes = in.spatial_shapes.to(torch::kCPU);
  const int64_t B = memory.size(0), L = shapes.size(0);
  const auto opts = memory.options().dtype(torch::kFloat);
  std::vector<torch::Tensor> proposals;
  int64_t cur = 0;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t H = shapes[l][0].item<int64_t>(), W = shapes[l][1].item<int64_t>();
    auto m = in.padding_mask.narrow(1, cur, H * W).view({B, H, W});
    auto valid_h = m.index({Slice(), Slice(), 0}).logical_not().sum(1).to(torch::kFloat);
    auto valid_w = m.index({Slice(), 0, Slice()}).logical_not().sum(1).to(torch::kFloat);
    auto grid = torch::meshgrid({torch::linspace(0, H - 1, H, opts), torch::linspace(0, W - 1, W, opts)}, "ij");
    auto xy = torch::stack({grid[1], grid[0]}, -1);                                // [H, W, 2]
    auto scale = torch::stack({valid_w, valid_h}, -1).view({B, 1, 1, 2});
    auto centre = (xy.unsqueeze(0).expand({B, -1, -1, -1}) + 0.5) / scale;          // [B, H, W, 2]
    auto wh = torch::ones_like(centre) * (0.05 * std::pow(2.0, static_cast<double>(l)));
    proposals.push_back(torch::cat({centre, wh}, -1).view({B, -1, 4}));
    cur += H * W;
  }
  auto p = torch::cat(proposals, 1);  // [B, S, 4]
  auto valid = p.gt(0.01).logical_and(p.lt(0.99)).all(-1, true);
  const double inf = std::numeric_limits<double>::infinity();
  p = torch::log(p / (1 - p));
  auto pad = in.padding_mask.unsqueeze(-1);
  p = p.masked_fill(pad, inf).masked_fill(valid.logical_not(), inf);
  auto out = memory.masked_fill(pad, 0.0).masked_fill(valid.logical_not(), 0.0);
  return {out, p};
}

namespace {
// [..] positions -> [.., F] interleaved sin/cos of x * 2 pi / dim_t
torch::Tensor sine_features(const torch::Tensor& x, int64_t F, double temperature) {
  using torch::indexing::Slice;
  auto dim_t = torch::arange(F, x.options().dtype(torch::kFloat));
  dim_t = torch::pow(temperature, 2 * torch::div(dim_t, 2, "floor") / static_cast<double>(F));
  auto a = (x.to(torch::kFloat) * (2 * M_PI)).unsqueeze(-1) / dim_t;
  auto s = a.index({"...", Slice(0, torch::indexing::None, 2)}).sin();
  auto c = a.index({"...", Slice(1, torch::indexing::None, 2)}).cos();
  return torch::stack({s, c}, -1).flatten(-2);
}
}  // namespace

torch::Tensor box_sine_embedding(const torch::Tensor& pos, int64_t num_feats) {
  const int64_t n = pos.size(-1);
  if (n != 2 && n != 4) throw RuntimeError("box_sine_embedding: positions must have 2 or 4 coordinates");
  const int64_t F = num_feats;
  auto px = sine_features(pos.select(-1, 0), F, 10000), py = sine_features(pos.select(-1, 1), F, 10000);
  if (n == 2) return torch::cat({py, px}, -1);
  auto pw = sine_features(pos.select(-1, 2), F, 10000), ph = sine_features(pos.select(-1, 3), F, 10000);
  return torch::cat({py, px, pw, ph}, -1);
}

torch::Tensor scalar_sine_embedding(const torch::Tensor& pos, int64_t num_feats, double temperature) {
  // get_sine_pos_embed: each trailing coordinate becomes num_feats channels.
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < pos.size(-1); ++i) parts.push_back(sine_features(pos.select(-1, i), num_feats, temperature));
  return torch::cat(parts, -1);
}

torch::Tensor inverse_sigmoid(const torch::Tensor& x, double eps) {
  auto y = x.clamp(0, 1);
  return torch::log(y.clamp_min(eps) / (1 - y).clamp_min(eps));
}

}  // namespace seer
