#include "ops/ms_deform_attn.h"

#include <torch/csrc/jit/frontend/tracer.h>

#include <cmath>

#include "core/error.h"
#include "ops/attention.h"
#include "ops/ms_deform_attn_kernel.h"

namespace seer {
// A named namespace around the file's helpers: unity builds put several .cpp
// files into one translation unit.
namespace msda {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::string shape(const torch::Tensor& t) { return t.defined() ? c10::str(t.sizes()) : "[undefined]"; }

[[noreturn]] void fail(const std::string& what) { throw RuntimeError("ms_deform_attn: " + what); }

// The level table as plain numbers: [L, 2] (H, W) and [L] starts, on the CPU.
struct Levels {
  torch::Tensor shapes, starts;  // int64, contiguous
  int64_t count() const { return shapes.size(0); }
};

Levels check_levels(const torch::Tensor& spatial_shapes, const torch::Tensor& level_start_index, int64_t S) {
  if (!spatial_shapes.defined() || spatial_shapes.dim() != 2 || spatial_shapes.size(1) != 2 ||
      spatial_shapes.scalar_type() != torch::kLong)
    fail("spatial_shapes must be [L, 2] int64 (H, W), got " + shape(spatial_shapes) +
         (spatial_shapes.defined() ? std::string(" ") + c10::toString(spatial_shapes.scalar_type()) : ""));
  const int64_t L = spatial_shapes.size(0);
  if (!level_start_index.defined() || level_start_index.dim() != 1 || level_start_index.size(0) != L ||
      level_start_index.scalar_type() != torch::kLong)
    fail("level_start_index must be [L] = [" + std::to_string(L) + "] int64 for spatial_shapes " +
         shape(spatial_shapes) + ", got " + shape(level_start_index) +
         (level_start_index.defined() ? std::string(" ") + c10::toString(level_start_index.scalar_type()) : ""));
  Levels lv{spatial_shapes.cpu().contiguous(), level_start_index.cpu().contiguous()};
  const int64_t* hw = lv.shapes.data_ptr<int64_t>();
  const int64_t* st = lv.starts.data_ptr<int64_t>();
  int64_t total = 0;
  for (int64_t l = 0; l < L; ++l) {
    if (hw[2 * l] <= 0 || hw[2 * l + 1] <= 0)
      fail("spatial_shapes must be positive, level " + std::to_string(l) + " is " + std::to_string(hw[2 * l]) + "x" +
           std::to_string(hw[2 * l + 1]));
    if (st[l] != total)
      fail("level_start_index[" + std::to_string(l) + "] is " + std::to_string(st[l]) +
           ", the sum of H*W of the levels before it is " + std::to_string(total));
    total += hw[2 * l] * hw[2 * l + 1];
  }
  if (total != S)
    fail("spatial_shapes cover " + std::to_string(total) +
         " positions (sum of H*W), value has S = " + std::to_string(S));
  return lv;
}

// Checks the four tensors against each other (one-line errors naming the
// argument and the shapes) and returns the level table.
Levels check_inputs(const torch::Tensor& value, const torch::Tensor& spatial_shapes,
                    const torch::Tensor& level_start_index, const torch::Tensor& loc, const torch::Tensor& aw) {
  if (!value.defined() || value.dim() != 4) fail("value must be [N, S, M, D], got " + shape(value));
  const int64_t N = value.size(0), S = value.size(1), M = value.size(2);
  Levels lv = check_levels(spatial_shapes, level_start_index, S);
  const int64_t L = lv.count();
  if (!loc.defined() || loc.dim() != 6 || loc.size(0) != N || loc.size(2) != M || loc.size(3) != L || loc.size(5) != 2)
    fail("sampling_locations must be [N, Lq, M, L, P, 2] = [" + std::to_string(N) + ", Lq, " + std::to_string(M) +
         ", " + std::to_string(L) + ", P, 2] for value " + shape(value) + " and spatial_shapes " +
         shape(spatial_shapes) + ", got " + shape(loc));
  const int64_t Lq = loc.size(1), P = loc.size(4);
  if (!aw.defined() || aw.dim() != 5 || aw.size(0) != N || aw.size(1) != Lq || aw.size(2) != M || aw.size(3) != L ||
      aw.size(4) != P)
    fail("attention_weights must be [N, Lq, M, L, P] = " + c10::str(c10::IntArrayRef{N, Lq, M, L, P}) +
         " for sampling_locations " + shape(loc) + ", got " + shape(aw));
  for (const auto* t : {&value, &loc, &aw})
    if (!t->is_floating_point())
      fail("value, sampling_locations and attention_weights must be floating point, got " +
           std::string(c10::toString(value.scalar_type())) + ", " + c10::toString(loc.scalar_type()) + ", " +
           c10::toString(aw.scalar_type()));
  if (loc.device() != value.device() || aw.device() != value.device())
    fail("value, sampling_locations and attention_weights must be on one device, got " + value.device().str() + ", " +
         loc.device().str() + ", " + aw.device().str());
  return lv;
}

// float64 when all three are float64, float32 when all are float32 or any is
// reduced precision (bfloat16 / float16: autocast); a float32 / float64 mix
// is an error rather than a silent rounding.
torch::ScalarType compute_dtype(const torch::Tensor& value, const torch::Tensor& loc, const torch::Tensor& aw) {
  auto reduced = [](torch::ScalarType t) { return t == torch::kBFloat16 || t == torch::kHalf; };
  const auto a = value.scalar_type(), b = loc.scalar_type(), c = aw.scalar_type();
  if (reduced(a) || reduced(b) || reduced(c)) return torch::kFloat;
  if (a == b && b == c && (a == torch::kFloat || a == torch::kDouble)) return a;
  fail(std::string("value, sampling_locations and attention_weights must share a dtype, got ") + c10::toString(a) +
       ", " + c10::toString(b) + ", " + c10::toString(c));
}

msda::Geometry geometry(const torch::Tensor& value, const torch::Tensor& loc, const Levels& lv) {
  return {value.size(0),
          value.size(1),
          value.size(2),
          value.size(3),
          loc.size(1),
          lv.count(),
          loc.size(4),
          lv.shapes.data_ptr<int64_t>(),
          lv.starts.data_ptr<int64_t>()};
}

// Our kernel with its hand-written backward. Inputs arrive contiguous, in
// float32 or float64, validated.
class FusedMSDeformAttn : public torch::autograd::Function<FusedMSDeformAttn> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& value, const torch::Tensor& shapes,
                               const torch::Tensor& starts, const torch::Tensor& loc, const torch::Tensor& aw) {
    ctx->save_for_backward({value, shapes, starts, loc, aw});
    const Levels lv{shapes, starts};
    const msda::Geometry g = geometry(value, loc, lv);
    auto out = torch::empty({g.N, g.Lq, g.M * g.D}, value.options());  // rows [N, Lq, M] of D
    // one row costs L*P*4*D multiply-adds
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.L * g.P * 4 * g.D));
    AT_DISPATCH_FLOATING_TYPES(value.scalar_type(), "ms_deform_attn_forward", [&] {
      const auto* v = value.data_ptr<scalar_t>();
      const auto* l = loc.data_ptr<scalar_t>();
      const auto* a = aw.data_ptr<scalar_t>();
      auto* o = out.data_ptr<scalar_t>();
      at::parallel_for(0, g.N * g.Lq * g.M, grain,
                       [&](int64_t begin, int64_t end) { msda::forward(g, v, l, a, o, begin, end); });
    });
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    if (torch::GradMode::is_enabled())
      fail("the Fused backward is not differentiable (double backward); use MSDeformAttnImpl::Reference");
    const auto saved = ctx->get_saved_variables();
    const auto &value = saved[0], &loc = saved[3], &aw = saved[4];
    const Levels lv{saved[1], saved[2]};
    const msda::Geometry g = geometry(value, loc, lv);
    const auto grad_out = grad_outputs[0].to(value.scalar_type()).contiguous();
    auto grad_value = torch::zeros_like(value);
    auto grad_loc = torch::empty_like(loc);
    auto grad_aw = torch::empty_like(aw);
    // Threads split the (n, m) pairs: each owns grad_value[n, :, m, :], so the
    // scattered accumulation needs neither atomics nor per-thread copies. Only
    // with fewer pairs than threads are a pair's queries split as well, into
    // `chunks` ranges; range c > 0 accumulates into a buffer of its own,
    // summed at the end (scripts/bench/README.md measures the two ways).
    const int64_t pairs = g.N * g.M;
    const int64_t work = pairs * g.Lq * g.L * g.P * 4 * g.D;
    const bool parallel = work >= 32768 && at::get_num_threads() > 1 && !at::in_parallel_region();
    const int64_t chunks =
        parallel ? std::max<int64_t>(1, std::min<int64_t>(g.Lq, (at::get_num_threads() + pairs - 1) / pairs)) : 1;
    std::vector<torch::Tensor> partial;  // grad_value of chunks 1..
    for (int64_t c = 1; c < chunks; ++c) partial.push_back(torch::zeros_like(value));
    AT_DISPATCH_FLOATING_TYPES(value.scalar_type(), "ms_deform_attn_backward", [&] {
      const auto* v = value.data_ptr<scalar_t>();
      const auto* l = loc.data_ptr<scalar_t>();
      const auto* a = aw.data_ptr<scalar_t>();
      const auto* go = grad_out.data_ptr<scalar_t>();
      auto* gl = grad_loc.data_ptr<scalar_t>();
      auto* ga = grad_aw.data_ptr<scalar_t>();
      const int64_t items = pairs * chunks;  // item = pair * chunks + chunk
      at::parallel_for(0, items, parallel ? 1 : items, [&](int64_t begin, int64_t end) {
        for (int64_t it = begin; it < end; ++it) {
          const int64_t pair = it / chunks, c = it % chunks;
          auto* gv = (c == 0 ? grad_value : partial[c - 1]).data_ptr<scalar_t>();
          msda::backward(g, v, l, a, go, gv, gl, ga, pair, pair + 1, g.Lq * c / chunks, g.Lq * (c + 1) / chunks);
        }
      });
    });
    for (const auto& p : partial) grad_value.add_(p);
    return {grad_value, torch::Tensor(), torch::Tensor(), grad_loc, grad_aw};
  }
};

// Deformable-DETR's ms_deform_attn_core_pytorch in LibTorch: per level, the
// value map of each (batch, head) is sampled by grid_sample at the grid
// 2 * loc - 1.
torch::Tensor reference(const torch::Tensor& value, const Levels& lv, const torch::Tensor& loc,
                        const torch::Tensor& aw) {
  namespace F = torch::nn::functional;
  const int64_t N = value.size(0), M = value.size(2), D = value.size(3), Lq = loc.size(1), L = lv.count(),
                P = loc.size(4);
  const int64_t* hw = lv.shapes.data_ptr<int64_t>();
  const auto grids = 2 * loc - 1;  // [N, Lq, M, L, P, 2]
  const auto opts = F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false);
  std::vector<int64_t> sizes;
  for (int64_t l = 0; l < L; ++l) sizes.push_back(hw[2 * l] * hw[2 * l + 1]);
  // one split, not a narrow per level: the backward of each narrow would
  // allocate and fill a gradient as large as all of value
  const auto levels = value.split_with_sizes(sizes, 1);
  std::vector<torch::Tensor> samples;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t H = hw[2 * l], W = hw[2 * l + 1];
    // [N, H*W, M, D] -> [N*M, D, H, W]
    auto v = levels[l].flatten(2).transpose(1, 2).reshape({N * M, D, H, W});
    auto grid = grids.select(3, l).transpose(1, 2).flatten(0, 1);  // [N*M, Lq, P, 2]
    samples.push_back(F::grid_sample(v, grid, opts));              // [N*M, D, Lq, P]
  }
  auto w = aw.transpose(1, 2).reshape({N * M, 1, Lq, L * P});
  auto out = (torch::stack(samples, -2).flatten(-2) * w).sum(-1);  // [N*M, D, Lq]
  return out.view({N, M * D, Lq}).transpose(1, 2).contiguous();
}

}  // namespace
}  // namespace msda

torch::Tensor ms_deform_attn(const torch::Tensor& value, const torch::Tensor& spatial_shapes,
                             const torch::Tensor& level_start_index, const torch::Tensor& sampling_locations,
                             const torch::Tensor& attention_weights, MSDeformAttnImpl impl) {
  const msda::Levels lv =
      msda::check_inputs(value, spatial_shapes, level_start_index, sampling_locations, attention_weights);
  const auto dtype = msda::compute_dtype(value, sampling_locations, attention_weights);
  // reduced-precision inputs run in float32, whatever autocast would pick for
  // grid_sample and the weighted sum
  AutocastOff autocast_off;
  auto v = value.to(dtype), loc = sampling_locations.to(dtype), aw = attention_weights.to(dtype);
  torch::Tensor out;
  // The tracer (TorchScript export) records ATen ops only and cannot see
  // inside the fused kernel: traced graphs take the composition.
  if (impl == MSDeformAttnImpl::Reference || torch::jit::tracer::isTracing()) {
    out = msda::reference(v, lv, loc, aw);
  } else {
    if (!value.device().is_cpu())
      msda::fail("the Fused kernel runs on the CPU, value is on " + value.device().str() +
                 " (use MSDeformAttnImpl::Reference)");
    out = msda::FusedMSDeformAttn::apply(v.contiguous(), lv.shapes, lv.starts, loc.contiguous(), aw.contiguous());
  }
  return out.to(value.scalar_type());
}

torch::Tensor ms_deform_sampling_locations(const torch::Tensor& reference_points, const torch::Tensor& offsets,
                                           const torch::Tensor& spatial_shapes) {
  if (!offsets.defined() || offsets.dim() != 6 || offsets.size(5) != 2)
    throw RuntimeError("ms_deform_sampling_locations: offsets must be [N, Lq, M, L, P, 2], got " +
                       msda::shape(offsets));
  const int64_t N = offsets.size(0), Lq = offsets.size(1), L = offsets.size(3), P = offsets.size(4);
  if (!reference_points.defined() || reference_points.dim() != 4 || reference_points.size(0) != N ||
      reference_points.size(1) != Lq || reference_points.size(2) != L ||
      (reference_points.size(3) != 2 && reference_points.size(3) != 4))
    throw RuntimeError("ms_deform_sampling_locations: reference_points must be [N, Lq, L, 2 | 4] = [" +
                       std::to_string(N) + ", " + std::to_string(Lq) + ", " + std::to_string(L) +
                       ", 2 | 4] for offsets " + msda::shape(offsets) + ", got " + msda::shape(reference_points));
  auto ref = reference_points.unsqueeze(2).unsqueeze(4);  // [N, Lq, 1, L, 1, 2 | 4]
  if (reference_points.size(3) == 4) return ref.narrow(-1, 0, 2) + offsets / P * ref.narrow(-1, 2, 2) * 0.5;
  if (!spatial_shapes.defined() || spatial_shapes.dim() != 2 || spatial_shapes.size(0) != L ||
      spatial_shapes.size(1) != 2)
    throw RuntimeError("ms_deform_sampling_locations: spatial_shapes must be [L, 2] = [" + std::to_string(L) +
                       ", 2] for offsets " + msda::shape(offsets) + ", got " + msda::shape(spatial_shapes));
  // offsets are in pixels of each level: x by W, y by H
  auto normalizer = torch::stack({spatial_shapes.select(1, 1), spatial_shapes.select(1, 0)}, -1);  // [L, 2]
  return ref + offsets / normalizer.to(offsets.device()).view({1, 1, 1, L, 1, 2});
}

MSDeformAttentionImpl::MSDeformAttentionImpl(const MSDeformAttentionOptions& o) : options(o) {
  if (o.d_model <= 0 || o.n_levels <= 0 || o.n_heads <= 0 || o.n_points <= 0)
    throw RuntimeError("MSDeformAttention: d_model, n_levels, n_heads and n_points must be > 0, got " +
                       std::to_string(o.d_model) + ", " + std::to_string(o.n_levels) + ", " +
                       std::to_string(o.n_heads) + ", " + std::to_string(o.n_points));
  if (o.d_model % o.n_heads != 0)
    throw RuntimeError("MSDeformAttention: d_model " + std::to_string(o.d_model) + " is not divisible by n_heads " +
                       std::to_string(o.n_heads));
  const int64_t C = o.d_model, MLP = o.n_heads * o.n_levels * o.n_points;
  sampling_offsets = register_module("sampling_offsets", torch::nn::Linear(C, MLP * 2));
  attention_weights = register_module("attention_weights", torch::nn::Linear(C, MLP));
  value_proj = register_module("value_proj", torch::nn::Linear(C, C));
  output_proj = register_module("output_proj", torch::nn::Linear(C, C));
  reset_parameters();
}

void MSDeformAttentionImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const int64_t M = options.n_heads, L = options.n_levels, P = options.n_points;
  sampling_offsets->weight.zero_();
  auto thetas = torch::arange(M, torch::kFloat) * (2.0 * M_PI / static_cast<double>(M));
  auto grid = torch::stack({thetas.cos(), thetas.sin()}, -1);  // [M, 2]
  grid = (grid / std::get<0>(grid.abs().max(-1, /*keepdim=*/true))).view({M, 1, 1, 2}).repeat({1, L, P, 1});
  for (int64_t i = 0; i < P; ++i) grid.select(2, i).mul_(static_cast<double>(i + 1));
  sampling_offsets->bias.copy_(grid.view(-1));
  attention_weights->weight.zero_();
  attention_weights->bias.zero_();
  torch::nn::init::xavier_uniform_(value_proj->weight);
  value_proj->bias.zero_();
  torch::nn::init::xavier_uniform_(output_proj->weight);
  output_proj->bias.zero_();
}

torch::Tensor MSDeformAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& reference_points,
                                             const torch::Tensor& input_flatten, const torch::Tensor& spatial_shapes,
                                             const torch::Tensor& level_start_index,
                                             const torch::Tensor& input_padding_mask) {
  const int64_t C = options.d_model, M = options.n_heads, L = options.n_levels, P = options.n_points;
  if (!query.defined() || query.dim() != 3 || query.size(2) != C)
    throw RuntimeError("MSDeformAttention: query must be [N, Lq, " + std::to_string(C) + "], got " +
                       msda::shape(query));
  const int64_t N = query.size(0), Lq = query.size(1);
  if (!input_flatten.defined() || input_flatten.dim() != 3 || input_flatten.size(0) != N || input_flatten.size(2) != C)
    throw RuntimeError("MSDeformAttention: input_flatten must be [N, S, C] = [" + std::to_string(N) + ", S, " +
                       std::to_string(C) + "] for query " + msda::shape(query) + ", got " + msda::shape(input_flatten));
  const int64_t S = input_flatten.size(1);
  if (!spatial_shapes.defined() || spatial_shapes.dim() != 2 || spatial_shapes.size(0) != L)
    throw RuntimeError("MSDeformAttention: spatial_shapes must be [n_levels, 2] = [" + std::to_string(L) +
                       ", 2], got " + msda::shape(spatial_shapes));
  if (input_padding_mask.defined() &&
      (input_padding_mask.dim() != 2 || input_padding_mask.size(0) != N || input_padding_mask.size(1) != S ||
       input_padding_mask.scalar_type() != torch::kBool))
    throw RuntimeError("MSDeformAttention: input_padding_mask must be [N, S] = [" + std::to_string(N) + ", " +
                       std::to_string(S) + "] bool, got " + msda::shape(input_padding_mask) + " " +
                       c10::toString(input_padding_mask.scalar_type()));

  auto value = value_proj(input_flatten);
  if (input_padding_mask.defined()) value = value.masked_fill(input_padding_mask.unsqueeze(-1), 0.0);
  value = value.view({N, S, M, C / M});
  auto offsets = sampling_offsets(query).view({N, Lq, M, L, P, 2});
  auto aw = attention_weights(query).view({N, Lq, M, L * P}).softmax(-1).view({N, Lq, M, L, P});
  auto loc = ms_deform_sampling_locations(reference_points, offsets, spatial_shapes);
  return output_proj(ms_deform_attn(value, spatial_shapes, level_start_index, loc, aw, options.impl));
}

}  // namespace seer
