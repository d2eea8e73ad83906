// Multi-scale deformable attention: the Fused kernel against the Reference
// grid_sample composition (values and all three gradients) on random inputs,
// and the module and core function against Grounding DINO's official
// MultiScaleDeformableAttention / multi_scale_deformable_attn_pytorch at
// IDEA-Research/GroundingDINO@856dde20aee659246248e20734ef9ba5214f5e44.
// Fixtures: tests/data/ms_deform_attn/ (scripts/fixtures/make_ms_deform_attn_fixtures.py).
#include <ATen/autocast_mode.h>

#include <cmath>

#include "core/checkpoint.h"
#include "core/error.h"
#include "losses/loss_fixture.h"
#include "ops/ms_deform_attn.h"
#include "pt_fixture.h"
#include "test_util.h"
namespace seer_test_test_ms_deform_attn {

namespace {

using namespace seer;

constexpr double kTol = 1e-5;

// |got - want| <= 1e-5 + 1e-5 |want| everywhere; prints the largest absolute error.
void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what, double tol = kTol) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  auto a = got.detach().to(torch::kDouble), b = want.detach().to(torch::kDouble);
  std::cout << "[parity] " << what << ": " << (a - b).abs().max().item<double>() << std::endl;
  EXPECT_TRUE(torch::allclose(a, b, tol, tol)) << what << ": max abs error " << (a - b).abs().max().item<double>();
}

struct Case {
  std::vector<std::pair<int64_t, int64_t>> shapes;  // (H, W) per level
  int64_t N, M, D, Lq, P;
};

struct Inputs {
  torch::Tensor value, spatial_shapes, level_start_index, loc, aw, proj;
};

// Random inputs; locations in [-0.2, 1.2] (some outside the maps), and when
// `borders`, a third of the coordinates along power-of-two sides on exact
// pixel centres and edges j / (2W): exact in binary there, so both
// implementations take the same floor (the location gradient jumps at pixel
// centres). j = -1 (w = -1 exactly) is avoided, see
// ExactlyMinusOneFollowsTheCudaRule.
Inputs make_inputs(const Case& c, torch::ScalarType dtype, bool borders, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto opt = torch::TensorOptions().dtype(dtype);
  const int64_t L = static_cast<int64_t>(c.shapes.size());
  std::vector<int64_t> hw, starts;
  int64_t S = 0;
  for (auto [h, w] : c.shapes) {
    hw.push_back(h);
    hw.push_back(w);
    starts.push_back(S);
    S += h * w;
  }
  Inputs in;
  in.spatial_shapes = torch::tensor(hw, torch::kLong).view({L, 2});
  in.level_start_index = torch::tensor(starts, torch::kLong);
  in.value = at::randn({c.N, S, c.M, c.D}, gen, opt);
  in.loc = at::rand({c.N, c.Lq, c.M, L, c.P, 2}, gen, opt) * 1.4 - 0.2;
  if (borders) {
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t xy = 0; xy < 2; ++xy) {
        const int64_t size = xy == 0 ? c.shapes[l].second : c.shapes[l].first;
        if ((size & (size - 1)) != 0) continue;  // j / (2 * size) would be rounded
        // j in [-2, 2 * size + 2] without -1
        auto j = at::randint(-1, 2 * size + 3, {c.N, c.Lq, c.M, c.P}, gen, opt);
        j = torch::where(j == -1, torch::full_like(j, -2), j);
        auto pick = at::rand({c.N, c.Lq, c.M, c.P}, gen, opt) < 1.0 / 3;
        auto slot = in.loc.select(5, xy).select(3, l);
        slot.copy_(torch::where(pick, j / (2.0 * static_cast<double>(size)), slot));
      }
    }
  }
  in.aw = at::randn({c.N, c.Lq, c.M, L * c.P}, gen, opt).softmax(-1).view({c.N, c.Lq, c.M, L, c.P});
  in.proj = at::randn({c.N, c.Lq, c.M * c.D}, gen, opt);
  return in;
}

struct Result {
  torch::Tensor out, grad_value, grad_loc, grad_aw;
};

Result run(const Inputs& in, MSDeformAttnImpl impl) {
  auto v = in.value.clone().requires_grad_(true);
  auto loc = in.loc.clone().requires_grad_(true);
  auto aw = in.aw.clone().requires_grad_(true);
  auto out = ms_deform_attn(v, in.spatial_shapes, in.level_start_index, loc, aw, impl);
  (out * in.proj).sum().backward();
  return {out.detach(), v.grad(), loc.grad(), aw.grad()};
}

void expect_same(const Result& got, const Result& want, const std::string& what) {
  expect_close(got.out, want.out, what + " output");
  expect_close(got.grad_value, want.grad_value, what + " grad value");
  expect_close(got.grad_loc, want.grad_loc, what + " grad sampling_locations");
  expect_close(got.grad_aw, want.grad_aw, what + " grad attention_weights");
}

const std::vector<Case>& random_cases() {
  static const std::vector<Case> cases = {
      // Grounding DINO's head layout (D = 32) on four power-of-two levels
      {{{8, 16}, {4, 8}, {2, 4}, {1, 2}}, 2, 8, 32, 25, 4},
      // D = 20: one full vector block and a tail; odd map sizes
      {{{7, 5}, {3, 11}}, 2, 3, 20, 9, 3},
      // D < one vector block, three levels of very different sizes
      {{{16, 2}, {1, 9}, {5, 5}}, 2, 2, 6, 11, 2},
      // degenerate: one 1x1 level, one head of one channel, one point
      {{{1, 1}}, 2, 1, 1, 4, 1},
  };
  return cases;
}

TEST(MSDeformAttn, FusedEqualsReferenceOnRandomInputs) {
  uint64_t seed = 1;
  for (const auto& c : random_cases()) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      for (bool borders : {false, true}) {
        const auto in = make_inputs(c, dtype, borders, seed++);
        const std::string what =
            "case " + std::to_string(seed) + " " + c10::toString(dtype) + (borders ? " (pixel borders)" : "");
        expect_same(run(in, MSDeformAttnImpl::Fused), run(in, MSDeformAttnImpl::Reference), what);
      }
    }
  }
}

TEST(MSDeformAttn, FusedIsTheDefaultAndTakesNonContiguousInputs) {
  const Case c{{{6, 4}, {3, 2}}, 2, 4, 16, 5, 2};
  auto in = make_inputs(c, torch::kFloat, false, 77);
  auto want = run(in, MSDeformAttnImpl::Reference);
  // the same numbers through transposed views
  in.value = in.value.transpose(2, 3).contiguous().transpose(2, 3);
  in.loc = in.loc.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(in.value.is_contiguous());
  auto out = ms_deform_attn(in.value, in.spatial_shapes, in.level_start_index, in.loc, in.aw);
  expect_close(out, want.out, "default (Fused) on strided inputs");
  expect_same(run(in, MSDeformAttnImpl::Fused), want, "Fused on strided inputs");
}

TEST(MSDeformAttn, OneAndTwoThreads) {
  const int threads = at::get_num_threads();
  auto on = [](int n, const Inputs& in) {
    at::set_num_threads(n);
    return run(in, MSDeformAttnImpl::Fused);
  };
  // 16 (batch, head) pairs: the backward splits pairs only, every number is
  // computed in the same order on any thread count
  const auto many = make_inputs({{{8, 16}, {4, 8}}, 2, 8, 32, 40, 4}, torch::kFloat, true, 5);
  auto one = on(1, many), two = on(2, many);
  EXPECT_TRUE(torch::equal(one.out, two.out));
  EXPECT_TRUE(torch::equal(one.grad_value, two.grad_value));
  EXPECT_TRUE(torch::equal(one.grad_loc, two.grad_loc));
  EXPECT_TRUE(torch::equal(one.grad_aw, two.grad_aw));
  // one pair for two threads: its queries are split and grad_value summed
  // from two buffers
  const auto few = make_inputs({{{8, 16}, {4, 8}}, 1, 1, 32, 300, 4}, torch::kFloat, true, 6);
  one = on(1, few);
  two = on(2, few);
  at::set_num_threads(threads);
  expect_same(two, one, "one pair on two threads");
  expect_same(two, run(few, MSDeformAttnImpl::Reference), "one pair on two threads vs Reference");
}

TEST(MSDeformAttn, ExactlyMinusOneFollowsTheCudaRule) {
  // w = x * W - 0.5 = -1 exactly: the CUDA kernel (and Fused) skip the point;
  // grid_sample's output there is zero as well but it still differentiates
  // the corner (0, w = 0) it gives weight zero.
  auto value = torch::randn({1, 8, 1, 4});  // one 2x4 level
  auto ss = torch::tensor({2, 4}, torch::kLong).view({1, 2});
  auto start = torch::zeros({1}, torch::kLong);
  auto loc = torch::tensor({-0.125f, 0.25f}).view({1, 1, 1, 1, 1, 2}).requires_grad_(true);  // w = -1, h = 0
  auto aw = torch::ones({1, 1, 1, 1, 1});
  auto fused = ms_deform_attn(value, ss, start, loc, aw, MSDeformAttnImpl::Fused);
  auto ref = ms_deform_attn(value, ss, start, loc, aw, MSDeformAttnImpl::Reference);
  EXPECT_TRUE(torch::equal(fused, torch::zeros_like(fused)));
  EXPECT_TRUE(torch::equal(ref, torch::zeros_like(ref)));
  fused.sum().backward();
  EXPECT_TRUE(torch::equal(loc.grad(), torch::zeros_like(loc)));
  loc.mutable_grad() = torch::Tensor();
  ref.sum().backward();
  EXPECT_NE(loc.grad()[0][0][0][0][0][0].item<float>(), 0.0f);  // x * W times the sample at (0, 0)
  // just inside, both sample and agree
  auto inside = torch::tensor({-0.1249f, 0.25f}).view({1, 1, 1, 1, 1, 2});
  expect_close(ms_deform_attn(value, ss, start, inside, aw),
               ms_deform_attn(value, ss, start, inside, aw, MSDeformAttnImpl::Reference), "just inside the left edge");
}

TEST(MSDeformAttn, DoubleBackwardOfFusedIsRefused) {
  const Case c{{{2, 3}}, 1, 1, 4, 2, 1};
  auto in = make_inputs(c, torch::kDouble, false, 3);
  auto v = in.value.requires_grad_(true);
  auto out = ms_deform_attn(v, in.spatial_shapes, in.level_start_index, in.loc, in.aw);
  EXPECT_ONE_LINE_ERROR(torch::autograd::grad({out.sum()}, {v}, {}, /*retain_graph=*/true, /*create_graph=*/true),
                        "double backward");
  // the Reference composition is twice differentiable
  auto r = ms_deform_attn(v, in.spatial_shapes, in.level_start_index, in.loc, in.aw, MSDeformAttnImpl::Reference);
  auto g = torch::autograd::grad({r.pow(2).sum()}, {v}, {}, true, true)[0];
  EXPECT_TRUE(g.requires_grad());
}

TEST(MSDeformAttn, SamplingLocationsOfPointsAndBoxes) {
  torch::manual_seed(0);
  const int64_t N = 2, Lq = 3, M = 2, L = 2, P = 3;
  auto ss = torch::tensor({5, 7, 2, 3}, torch::kLong).view({L, 2});
  auto offsets = torch::randn({N, Lq, M, L, P, 2});
  auto points = torch::rand({N, Lq, L, 2}), boxes = torch::rand({N, Lq, L, 4});
  auto lp = ms_deform_sampling_locations(points, offsets, ss);
  auto lb = ms_deform_sampling_locations(boxes, offsets, ss);
  ASSERT_EQ(lp.sizes(), offsets.sizes());
  ASSERT_EQ(lb.sizes(), offsets.sizes());
  const double H[] = {5, 2}, W[] = {7, 3};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t q = 0; q < Lq; ++q)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t l = 0; l < L; ++l)
          for (int64_t p = 0; p < P; ++p) {
            const double ox = offsets[n][q][m][l][p][0].item<double>(), oy = offsets[n][q][m][l][p][1].item<double>();
            EXPECT_NEAR(lp[n][q][m][l][p][0].item<double>(), points[n][q][l][0].item<double>() + ox / W[l], 1e-6);
            EXPECT_NEAR(lp[n][q][m][l][p][1].item<double>(), points[n][q][l][1].item<double>() + oy / H[l], 1e-6);
            auto b = boxes[n][q][l];
            EXPECT_NEAR(lb[n][q][m][l][p][0].item<double>(), b[0].item<double>() + ox / P * b[2].item<double>() * 0.5,
                        1e-6);
            EXPECT_NEAR(lb[n][q][m][l][p][1].item<double>(), b[1].item<double>() + oy / P * b[3].item<double>() * 0.5,
                        1e-6);
          }
}

// ------------------------------------------------------------ official parity

const char* kGdino = "IDEA-Research/GroundingDINO@856dde20 ms_deform_attn.py";

torch::Tensor at_key(const test::TensorDict& d, const std::string& k) {
  auto it = d.find(k);
  if (it == d.end()) throw std::runtime_error("fixture has no key '" + k + "'");
  return it->second;
}

MSDeformAttention module_from_fixture(const test::TensorDict& fx) {
  auto o = at_key(fx, "options");
  MSDeformAttentionOptions opt;
  opt.d_model = o[0].item<int64_t>();
  opt.n_levels = o[1].item<int64_t>();
  opt.n_heads = o[2].item<int64_t>();
  opt.n_points = o[3].item<int64_t>();
  MSDeformAttention m(opt);
  StateDict sd;
  const std::string prefix = "state_dict/";
  for (const auto& [k, v] : fx)
    if (k.rfind(prefix, 0) == 0) sd.insert(k.substr(prefix.size()), v);
  auto report = load_state_dict(*m, sd, /*strict=*/true, "ms_deform_attn fixture");
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_EQ(report.loaded.size(), 8u);
  return m;
}

TEST(MSDeformAttnModule, OfficialStateDictNamesAndInit) {
  MSDeformAttention m;  // official defaults: 256, 4 levels, 8 heads, 4 points
  std::vector<std::string> names;
  for (const auto& kv : m->named_parameters()) names.push_back(kv.key());
  const std::vector<std::string> want = {"sampling_offsets.weight", "sampling_offsets.bias", "attention_weights.weight",
                                         "attention_weights.bias",  "value_proj.weight",     "value_proj.bias",
                                         "output_proj.weight",      "output_proj.bias"};
  EXPECT_EQ(names, want);
  EXPECT_EQ(m->sampling_offsets->weight.sizes(), torch::IntArrayRef({256, 256}));
  EXPECT_EQ(m->attention_weights->weight.sizes(), torch::IntArrayRef({128, 256}));
  EXPECT_EQ(m->impl(), MSDeformAttnImpl::Fused);

  EXPECT_EQ(m->sampling_offsets->weight.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(m->attention_weights->weight.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(m->attention_weights->bias.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(m->value_proj->bias.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(m->output_proj->bias.abs().max().item<float>(), 0.0f);
  const double bound = std::sqrt(6.0 / (256 + 256));  // xavier_uniform
  EXPECT_LE(m->value_proj->weight.abs().max().item<double>(), bound);
  EXPECT_GT(m->value_proj->weight.abs().max().item<double>(), 0.9 * bound);
  // bias [M, L, P, 2]: head h points along (cos, sin)(2 pi h / 8) scaled to a
  // unit max-norm, point i at distance i + 1, the same on every level
  auto bias = m->sampling_offsets->bias.view({8, 4, 4, 2});
  for (int64_t h = 0; h < 8; ++h) {
    const double t = 2 * M_PI * h / 8, c = std::cos(t), s = std::sin(t), mx = std::max(std::abs(c), std::abs(s));
    for (int64_t i = 0; i < 4; ++i) {
      auto want = torch::tensor({c / mx * (i + 1), s / mx * (i + 1)}, torch::kFloat).expand({4, 2});
      EXPECT_TRUE(torch::allclose(bias[h].select(1, i), want, 1e-6, 1e-6)) << "head " << h << " point " << i;
    }
  }
  // and the official one, float32 rounding of the angles included
  const auto fx = test::load_tensor_dict(test::fixture("ms_deform_attn/core.pt"));
  expect_close(m->sampling_offsets->bias, at_key(fx, "init/sampling_offsets.bias"), "official init bias", 1e-7);
}

TEST(MSDeformAttnModule, MatchesOfficialModuleWithPaddingMask) {
  for (const char* name : {"levels2", "levels4"}) {
    const auto fx = test::load_tensor_dict(test::fixture(std::string("ms_deform_attn/") + name + ".pt"));
    auto m = module_from_fixture(fx);
    for (auto impl : {MSDeformAttnImpl::Fused, MSDeformAttnImpl::Reference}) {
      m->set_impl(impl);
      for (const char* kind : {"ref2", "ref4"}) {
        const std::string what =
            std::string(kGdino) + " " + name + " " + kind + (impl == MSDeformAttnImpl::Fused ? " Fused" : " Reference");
        const std::string k = std::string(kind) + "/";
        m->zero_grad();
        auto q = at_key(fx, "query").clone().requires_grad_(true);
        auto x = at_key(fx, "input_flatten").clone().requires_grad_(true);
        auto r = at_key(fx, k + "reference_points").clone().requires_grad_(true);
        auto y = m->forward(q, r, x, at_key(fx, "spatial_shapes"), at_key(fx, "level_start_index"),
                            at_key(fx, "input_padding_mask"));
        expect_close(y, at_key(fx, k + "output"), what + " output");
        (y * at_key(fx, "proj")).sum().backward();
        expect_close(q.grad(), at_key(fx, k + "grad/query"), what + " grad query");
        expect_close(x.grad(), at_key(fx, k + "grad/input_flatten"), what + " grad input_flatten");
        expect_close(r.grad(), at_key(fx, k + "grad/reference_points"), what + " grad reference_points");
        for (const auto& p : m->named_parameters())
          expect_close(p.value().grad(), at_key(fx, k + "grad/" + p.key()), what + " grad " + p.key());
      }
    }
  }
}

TEST(MSDeformAttn, MatchesOfficialCoreFunction) {
  const auto fx = test::load_tensor_dict(test::fixture("ms_deform_attn/core.pt"));
  Inputs in{at_key(fx, "value"),
            at_key(fx, "spatial_shapes"),
            at_key(fx, "level_start_index"),
            at_key(fx, "sampling_locations"),
            at_key(fx, "attention_weights"),
            at_key(fx, "proj")};
  const Result want{at_key(fx, "output"), at_key(fx, "grad/value"), at_key(fx, "grad/sampling_locations"),
                    at_key(fx, "grad/attention_weights")};
  expect_same(run(in, MSDeformAttnImpl::Fused), want, std::string(kGdino) + " core, Fused");
  expect_same(run(in, MSDeformAttnImpl::Reference), want, std::string(kGdino) + " core, Reference");
}

// ------------------------------------------------------------ errors, autocast

TEST(MSDeformAttn, BadShapesAndDtypesGiveOneLineErrorsNamingTheArgument) {
  const Case c{{{4, 4}, {2, 2}}, 2, 2, 8, 3, 2};
  const auto in = make_inputs(c, torch::kFloat, false, 9);
  const auto &v = in.value, &ss = in.spatial_shapes, &st = in.level_start_index, &loc = in.loc, &aw = in.aw;
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v.flatten(2), ss, st, loc, aw), "value must be [N, S, M, D], got [2, 20, 16]");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v.narrow(1, 0, 19), ss, st, loc, aw), "spatial_shapes");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss.to(torch::kInt), st, loc, aw), "spatial_shapes");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss, torch::tensor({0, 15}, torch::kLong), loc, aw), "level_start_index");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss, st.narrow(0, 0, 1), loc, aw), "level_start_index");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss, st, loc.narrow(3, 0, 1), aw), "sampling_locations");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss, st, loc.narrow(2, 0, 1), aw), "sampling_locations");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss, st, loc, aw.narrow(4, 0, 1)), "attention_weights");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss, st, loc, aw.narrow(1, 0, 2)), "attention_weights");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v, ss, st, loc.to(torch::kDouble), aw), "dtype");
  EXPECT_ONE_LINE_ERROR(ms_deform_attn(v.to(torch::kLong), ss, st, loc, aw), "floating point");
  try {
    ms_deform_attn(v, ss, st, loc, aw.narrow(4, 0, 1));
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "ms_deform_attn: attention_weights must be [N, Lq, M, L, P] = [2, 3, 2, 2, 2] for "
              "sampling_locations [2, 3, 2, 2, 2, 2], got [2, 3, 2, 2, 1]");
  }

  MSDeformAttentionOptions o;
  o.d_model = 16;
  o.n_levels = 2;
  o.n_heads = 2;
  o.n_points = 2;
  MSDeformAttention m(o);
  auto q = torch::randn({2, 3, 16}), x = torch::randn({2, 20, 16}), ref = torch::rand({2, 3, 2, 2});
  EXPECT_ONE_LINE_ERROR(m->forward(q.narrow(2, 0, 8), ref, x, ss, st), "query");
  EXPECT_ONE_LINE_ERROR(m->forward(q, ref, x.narrow(0, 0, 1), ss, st), "input_flatten");
  EXPECT_ONE_LINE_ERROR(m->forward(q, torch::rand({2, 3, 2, 3}), x, ss, st), "reference_points");
  EXPECT_ONE_LINE_ERROR(m->forward(q, ref, x, ss, st, torch::zeros({2, 20})), "input_padding_mask");
  EXPECT_ONE_LINE_ERROR(m->forward(q, ref, x, ss.narrow(0, 0, 1), st), "spatial_shapes");
  o.n_heads = 3;
  EXPECT_ONE_LINE_ERROR(MSDeformAttention{o}, "n_heads");
}

// Turns CPU autocast on for its lifetime.
struct CpuAutocast {
  CpuAutocast() { at::autocast::set_cpu_enabled(true); }
  ~CpuAutocast() { at::autocast::set_cpu_enabled(false); }
};

TEST(MSDeformAttn, Bfloat16AndAutocastComputeInFloat32) {
  const Case c{{{8, 8}, {4, 4}}, 2, 4, 16, 6, 3};
  const auto in = make_inputs(c, torch::kFloat, false, 11);
  auto want = ms_deform_attn(in.value, in.spatial_shapes, in.level_start_index, in.loc, in.aw);
  for (auto impl : {MSDeformAttnImpl::Fused, MSDeformAttnImpl::Reference}) {
    auto v = in.value.to(torch::kBFloat16).requires_grad_(true);
    auto out = ms_deform_attn(v, in.spatial_shapes, in.level_start_index, in.loc.to(torch::kBFloat16),
                              in.aw.to(torch::kBFloat16), impl);
    EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
    EXPECT_LT((out.to(torch::kFloat) - want).abs().max().item<double>(), 0.05);
    out.to(torch::kFloat).sum().backward();
    EXPECT_EQ(v.grad().scalar_type(), torch::kBFloat16);
  }

  // the module under CPU autocast: its Linear layers run in bfloat16
  const auto fx = test::load_tensor_dict(test::fixture("ms_deform_attn/levels4.pt"));
  auto m = module_from_fixture(fx);
  auto q = at_key(fx, "query").clone().requires_grad_(true);
  torch::Tensor y;
  {
    CpuAutocast autocast;
    y = m->forward(q, at_key(fx, "ref4/reference_points"), at_key(fx, "input_flatten"), at_key(fx, "spatial_shapes"),
                   at_key(fx, "level_start_index"), at_key(fx, "input_padding_mask"));
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  EXPECT_LT((y.to(torch::kFloat) - at_key(fx, "ref4/output")).abs().max().item<double>(), 0.1);
  y.to(torch::kFloat).sum().backward();
  EXPECT_TRUE(torch::isfinite(q.grad()).all().item<bool>());
}

}  // namespace

}  // namespace seer_test_test_ms_deform_attn
