#pragma once
// Multi-scale deformable attention (Zhu et al., Deformable DETR, 2021), the
// attention of the Deformable-DETR and Grounding DINO encoders and decoders:
// each query reads, per head, P bilinear samples from each of L feature maps
// around a reference point, weighted by softmaxed attention weights.
//
// Two implementations of the same sum:
//   Fused      our CPU kernel (ops/ms_deform_attn_kernel.h) with a hand-written
//              backward; the default.
//   Reference  the plain LibTorch composition of the official pure-PyTorch
//              function (grid_sample per level, bilinear, zero padding,
//              align_corners=false), differentiable by autograd.
// Both follow the official CUDA kernel's sampling rule. They differ only in
// the location gradient of a point whose w = x * W - 0.5 (or h = y * H - 0.5)
// is exactly -1: the CUDA rule, and Fused, skip that point; grid_sample still
// differentiates its corner of weight zero.
#include <torch/torch.h>

namespace seer {

enum class MSDeformAttnImpl { Fused, Reference };

// value [N, S, M, D] (S = sum of H_l * W_l); spatial_shapes [L, 2] int64 (H, W);
// level_start_index [L] int64 (exclusive cumulative sum of H_l * W_l);
// sampling_locations [N, Lq, M, L, P, 2] (x, y), [0, 1] covering each map;
// attention_weights [N, Lq, M, L, P] -> [N, Lq, M * D].
// Float32 and float64 are computed as they are; bfloat16 / float16 inputs (e.g.
// under autocast) are computed in float32 and the result is cast back to
// value's dtype. The Fused backward is not itself differentiable (no double
// backward; it throws when asked for one). A shape or dtype mismatch throws a
// one-line RuntimeError naming the argument.
torch::Tensor ms_deform_attn(const torch::Tensor& value, const torch::Tensor& spatial_shapes,
                             const torch::Tensor& level_start_index, const torch::Tensor& sampling_locations,
                             const torch::Tensor& attention_weights, MSDeformAttnImpl impl = MSDeformAttnImpl::Fused);

// Where the samples fall, as the official module computes them from the
// sampling_offsets projection ([N, Lq, M, L, P, 2], in pixels of each level):
//   reference points [N, Lq, L, 2] (x, y):  ref + offsets / (W_l, H_l)
//   reference boxes  [N, Lq, L, 4] (cx, cy, w, h):  ref[:2] + offsets / P * ref[2:] * 0.5
// -> sampling_locations [N, Lq, M, L, P, 2].
torch::Tensor ms_deform_sampling_locations(const torch::Tensor& reference_points, const torch::Tensor& offsets,
                                           const torch::Tensor& spatial_shapes);

struct MSDeformAttentionOptions {
  int64_t d_model = 256;
  int64_t n_levels = 4;
  int64_t n_heads = 8;
  int64_t n_points = 4;
  MSDeformAttnImpl impl = MSDeformAttnImpl::Fused;
};

// The official MSDeformAttn module (Deformable-DETR models/ops/modules, and
// Grounding DINO's MultiScaleDeformableAttention with batch_first=True):
// parameters `sampling_offsets` (C -> M*L*P*2), `attention_weights`
// (C -> M*L*P), `value_proj` and `output_proj` (C -> C), so an official
// `...cross_attn.*` / `...self_attn.*` state_dict loads as it is. Constructed
// with the official initialisation (reset_parameters). No dropout, as in both.
class MSDeformAttentionImpl : public torch::nn::Module {
 public:
  explicit MSDeformAttentionImpl(const MSDeformAttentionOptions& options = {});

  // query [N, Lq, C]; reference_points [N, Lq, L, 2 | 4] in [0, 1] (already
  // scaled by the valid ratios); input_flatten [N, S, C]; spatial_shapes
  // [L, 2]; level_start_index [L]; input_padding_mask [N, S] bool, true =
  // padding (its values are zeroed), or undefined -> [N, Lq, C].
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& reference_points,
                        const torch::Tensor& input_flatten, const torch::Tensor& spatial_shapes,
                        const torch::Tensor& level_start_index, const torch::Tensor& input_padding_mask = {});

  // Zero offset weights, biases pointing each head in its own direction
  // (cos, sin of 2*pi*h/M, scaled so the larger component is 1) times
  // (point index + 1), zero attention weights, xavier_uniform projections
  // with zero biases.
  void reset_parameters();

  void set_impl(MSDeformAttnImpl impl) { options.impl = impl; }
  MSDeformAttnImpl impl() const { return options.impl; }

  MSDeformAttentionOptions options;
  torch::nn::Linear sampling_offsets{nullptr}, attention_weights{nullptr}, value_proj{nullptr}, output_proj{nullptr};
};
TORCH_MODULE(MSDeformAttention);

}  // namespace seer
