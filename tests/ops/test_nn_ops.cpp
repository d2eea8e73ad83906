// Small nn ops of src/ops: the autocast-safe attention call, drop path and NMS.
#include <ATen/autocast_mode.h>

#include "core/error.h"
#include "ops/attention.h"
#include "ops/drop_path.h"
#include "ops/nms.h"
#include "losses/loss_fixture.h"
namespace seer_test_test_nn_ops {

namespace {

using namespace seer;

TEST(Attention, EqualsTorchAndIsSafeUnderAutocastWithAPaddingMask) {
  torch::manual_seed(0);
  torch::nn::MultiheadAttention attn(torch::nn::MultiheadAttentionOptions(16, 4));
  attn->eval();
  auto q = torch::randn({5, 2, 16}), k = torch::randn({7, 2, 16});
  auto pad = torch::zeros({2, 7}, torch::kBool);
  pad[1].narrow(0, 4, 3).fill_(true);
  auto want = std::get<0>(attn->forward(q, k, k, pad));
  EXPECT_TRUE(torch::allclose(multihead_attention(attn, q, k, k, pad), want, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(multihead_attention(attn, q, k, k), std::get<0>(attn->forward(q, k, k)), 1e-6, 1e-6));

  // Under CPU autocast LibTorch 1.13 cannot fill the padded keys in bf16; the
  // call runs in float32 and returns q's dtype.
  at::autocast::set_cpu_enabled(true);
  torch::Tensor got;
  try {
    got = multihead_attention(attn, q.to(torch::kBFloat16), k.to(torch::kBFloat16), k.to(torch::kBFloat16), pad);
  } catch (...) {
    at::autocast::set_cpu_enabled(false);
    throw;
  }
  EXPECT_TRUE(at::autocast::is_cpu_enabled());  // restored by the guard
  at::autocast::set_cpu_enabled(false);
  EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
  EXPECT_LT((got.to(torch::kFloat) - want).abs().max().item<double>(), 0.05);
}

TEST(DropPath, IdentityInEvalAndPerSampleInTraining) {
  auto x = torch::ones({4000, 3, 2});
  EXPECT_TRUE(torch::equal(drop_path(x, 0.3, /*training=*/false), x));
  EXPECT_TRUE(torch::equal(drop_path(x, 0.0, /*training=*/true), x));
  torch::manual_seed(1);
  auto y = drop_path(x, 0.25, /*training=*/true);
  // every sample entirely dropped or entirely kept and scaled by 1 / (1 - p)
  auto per_sample = y.flatten(1);
  auto lo = std::get<0>(per_sample.min(1)), hi = std::get<0>(per_sample.max(1));
  EXPECT_TRUE(torch::equal(lo, hi));
  auto kept = lo.gt(0);
  EXPECT_TRUE(torch::allclose(lo.index({kept}), torch::full({kept.sum().item<int64_t>()}, 1.0 / 0.75)));
  const double keep_rate = kept.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(keep_rate, 0.75, 0.03);
  EXPECT_NEAR(y.mean().item<double>(), 1.0, 0.05);  // unbiased
  DropPath m(0.5);
  m->eval();
  EXPECT_TRUE(torch::equal(m(x), x));
  EXPECT_ONE_LINE_ERROR(DropPath(1.0), "probability");
}

// Brute force of torchvision's definition: by decreasing score (stable), keep a
// box unless IoU > threshold with a kept one.
std::vector<int64_t> reference_nms(const torch::Tensor& boxes, const torch::Tensor& scores, double thr) {
  auto order = std::get<1>(scores.sort(true, 0, true));
  auto iou = [&](int64_t i, int64_t j) {
    auto a = boxes[i], b = boxes[j];
    double w = std::max(0.0, std::min(a[2].item<double>(), b[2].item<double>()) -
                                 std::max(a[0].item<double>(), b[0].item<double>()));
    double h = std::max(0.0, std::min(a[3].item<double>(), b[3].item<double>()) -
                                 std::max(a[1].item<double>(), b[1].item<double>()));
    double aa = (a[2] - a[0]).item<double>() * (a[3] - a[1]).item<double>();
    double ab = (b[2] - b[0]).item<double>() * (b[3] - b[1]).item<double>();
    return w * h / (aa + ab - w * h);
  };
  std::vector<int64_t> keep;
  for (int64_t n = 0; n < order.size(0); ++n) {
    const int64_t i = order[n].item<int64_t>();
    bool ok = true;
    for (auto j : keep) ok = ok && !(iou(i, j) > thr);
    if (ok) keep.push_back(i);
  }
  return keep;
}

TEST(Nms, KeepsWhatTorchvisionKeeps) {
  // Hand case: B overlaps A with IoU 0.6, C is apart; A scores highest.
  auto boxes = torch::tensor({{0.0, 0.0, 10.0, 10.0}, {0.0, 2.5, 10.0, 12.5}, {20.0, 20.0, 30.0, 30.0}});
  auto scores = torch::tensor({0.9, 0.8, 0.7});
  auto keep = nms(boxes, scores, 0.5);
  EXPECT_EQ(std::vector<int64_t>(keep.data_ptr<int64_t>(), keep.data_ptr<int64_t>() + keep.numel()),
            (std::vector<int64_t>{0, 2}));
  // IoU exactly 0.6 is not > 0.6: kept
  auto keep2 = nms(boxes, scores, 0.6);
  EXPECT_EQ(keep2.numel(), 3);

  torch::manual_seed(3);
  for (int trial = 0; trial < 5; ++trial) {
    auto xy = torch::rand({60, 2}) * 50, wh = torch::rand({60, 2}) * 20 + 1;
    auto b = torch::cat({xy, xy + wh}, 1).to(torch::kDouble);
    auto s = torch::rand({60}).to(torch::kDouble);
    auto got = nms(b, s, 0.4);
    auto want = reference_nms(b, s, 0.4);
    ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[static_cast<int64_t>(i)].item<int64_t>(), want[i]);
  }
  EXPECT_EQ(nms(torch::zeros({0, 4}), torch::zeros({0}), 0.5).numel(), 0);
  EXPECT_ONE_LINE_ERROR(nms(torch::zeros({3, 5}), torch::zeros({3}), 0.5), "boxes must be [N, 4]");
  EXPECT_ONE_LINE_ERROR(nms(torch::zeros({3, 4}), torch::zeros({2}), 0.5), "scores must be [N]");
}

TEST(Nms, BatchedKeepsGroupsApart) {
  auto boxes = torch::tensor({{0.0, 0.0, 10.0, 10.0}, {0.0, 0.0, 10.0, 10.0}, {1.0, 1.0, 10.0, 10.0}});
  auto scores = torch::tensor({0.5, 0.9, 0.8});
  auto groups = torch::tensor({0, 1, 1}, torch::kLong);
  auto keep = batched_nms(boxes, scores, groups, 0.5);
  // group 1: box 1 (0.9) suppresses box 2; group 0's box 0 survives next to box 1
  EXPECT_EQ(std::vector<int64_t>(keep.data_ptr<int64_t>(), keep.data_ptr<int64_t>() + keep.numel()),
            (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(nms(boxes, scores, 0.5).numel(), 1);  // class-agnostic: one survives
  EXPECT_ONE_LINE_ERROR(batched_nms(boxes, scores, torch::tensor({0, 1}), 0.5), "groups must be [N]");
}

}  // namespace

}  // namespace seer_test_test_nn_ops
