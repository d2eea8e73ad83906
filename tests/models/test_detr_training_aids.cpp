// DETR's optional training aids (off by default): learned decoder content and
// the auxiliary dense head on the encoder output (models/heads/dense_aux_head.h).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/config.h"
#include "models/detr/detr.h"
#include "models/detr_fixture.h"
#include "models/heads/dense_aux_head.h"
namespace seer_test_test_detr_training_aids {

namespace {

using namespace seer;

// The tiny test DETR with trainable BatchNorm, as trained from scratch.
DetrOptions tiny() {
  DetrOptions o = test::tiny_detr_options(3);
  auto r = test::tiny_resnet_options();
  r.norm = ResNetNorm::BatchNorm;
  r.frozen_stages = 0;
  o.backbone = resnet_backbone(r);
  return o;
}

Target target(std::vector<std::array<float, 4>> boxes, std::vector<int64_t> labels, int64_t h, int64_t w) {
  Target t;
  std::vector<float> flat;
  for (auto& b : boxes) flat.insert(flat.end(), b.begin(), b.end());
  t.boxes = torch::tensor(flat).reshape({-1, 4});
  t.labels = torch::tensor(labels, torch::kLong);
  t.size = {h, w};
  t.orig_size = {h, w};
  return t;
}

// A 64x96 image (feature grid 2x3 at stride 32): a big box covering it all
// (class 1), a 40x40 box in the top-left cell (class 0) and an 8x8 box whose
// centre (70, 40) lies in cell (1, 2) but covers no cell centre (class 2).
TEST(DenseAux, AssignsCellCentresInsideBoxesSmallestFirstAndBoxCentres) {
  auto t = target({{0, 0, 96, 64}, {0, 0, 40, 40}, {66, 36, 74, 44}}, {1, 0, 2}, 64, 96);
  auto mask = torch::zeros({1, 2, 3}, torch::kBool);
  auto d = dense_aux_targets({t}, mask, {64, 96}, 3, {});
  EXPECT_TRUE(d.positive.all().item<bool>());
  auto cls = d.classes[0].argmax(-1);  // [6]
  EXPECT_TRUE(torch::equal(cls.to(torch::kLong), torch::tensor({0, 1, 1, 1, 1, 2}, torch::kLong)));
  EXPECT_FLOAT_EQ(d.classes[0].sum().item<float>(), 6.f);  // one-hot per positive token
  // normalised cxcywh of the assigned object
  EXPECT_TRUE(torch::allclose(d.boxes[0][0], torch::tensor({20.f / 96, 20.f / 64, 40.f / 96, 40.f / 64})));
  EXPECT_TRUE(torch::allclose(d.boxes[0][1], torch::tensor({0.5f, 0.5f, 1.f, 1.f})));
  EXPECT_TRUE(torch::allclose(d.boxes[0][5], torch::tensor({70.f / 96, 40.f / 64, 8.f / 96, 8.f / 64})));
}

TEST(DenseAux, PaddingTokensAreNeitherValidNorPositiveAndLabelsAreMapped) {
  // image 64x64 in a 64x96 batch: the third column of the grid is padding
  auto t = target({{0, 0, 64, 64}}, {0}, 64, 64);
  auto mask = torch::zeros({1, 2, 3}, torch::kBool);
  mask.index_put_({0, torch::indexing::Slice(), 2}, true);
  auto d = dense_aux_targets({t}, mask, {64, 96}, 4, [](const torch::Tensor& l) { return l + 3; });
  EXPECT_EQ(d.valid.sum().item<int64_t>(), 4);
  EXPECT_EQ(d.positive.sum().item<int64_t>(), 4);
  EXPECT_FALSE(d.positive[0][2].item<bool>());
  EXPECT_FLOAT_EQ(d.classes[0].select(1, 3).sum().item<float>(), 4.f);  // label 0 -> class 3
  // an image without objects: all background
  Target empty = target({}, {}, 64, 96);
  empty.boxes = torch::zeros({0, 4});
  auto e = dense_aux_targets({empty}, torch::zeros({1, 2, 3}, torch::kBool), {64, 96}, 4, {});
  EXPECT_EQ(e.positive.sum().item<int64_t>(), 0);
}

TEST(DenseAux, LossesAreZeroForPerfectBoxesAndDividedByNumPos) {
  auto t = target({{0, 0, 96, 64}}, {1}, 64, 96);
  auto d = dense_aux_targets({t}, torch::zeros({1, 2, 3}, torch::kBool), {64, 96}, 3, {});
  auto logits = (d.classes * 2 - 1) * 20;  // confident and right
  auto l = dense_aux_losses(logits, d.boxes.clone(), d, 6);
  EXPECT_LT(l[0].item<double>(), 1e-6);
  EXPECT_NEAR(l[1].item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(l[2].item<double>(), 0.0, 1e-6);
  auto shifted = d.boxes + torch::tensor({0.1f, 0.f, 0.f, 0.f});
  auto l6 = dense_aux_losses(logits, shifted, d, 6), l3 = dense_aux_losses(logits, shifted, d, 3);
  EXPECT_NEAR(l6[1].item<double>(), 6 * 0.1 / 6, 1e-6);  // |0.1| per token, 6 tokens, / num_pos
  EXPECT_NEAR(l3[1].item<double>(), 2 * l6[1].item<double>(), 1e-6);
}

TEST(DetrTrainingAids, OffByDefaultAndOwnKeysWhenOn) {
  CategoryTable cats;
  for (int i = 0; i < 3; ++i) cats.add(i + 1, "c" + std::to_string(i));
  auto keys = [](const Detr& m) {
    std::set<std::string> k;
    for (const auto& p : m.named_parameters()) k.insert(p.key());
    return k;
  };
  Detr plain(tiny(), cats);
  auto o = tiny();
  o.aids.dense_aux = true;
  o.aids.learned_content = true;
  Detr aided(o, cats);
  auto a = keys(aided), p = keys(plain);
  std::set<std::string> extra;
  for (const auto& k : a)
    if (!p.count(k)) extra.insert(k.substr(0, k.find('.')));
  EXPECT_EQ(extra, (std::set<std::string>{"aux_dense", "tgt_embed"}));
  for (const auto& k : p) EXPECT_TRUE(a.count(k)) << k;

  // config keys
  auto cfg = Config::from_string(
      "model:\n  type: detr\n  num_classes: 3\n  decoder_content: learned\n  dense_aux: {enabled: true, ce_coef: 1.5}\n");
  auto spec = read_model_spec(cfg.root());
  auto built = std::dynamic_pointer_cast<Detr>(spec.build(cats));
  ASSERT_TRUE(built);
  EXPECT_TRUE(built->options().aids.learned_content);
  EXPECT_TRUE(built->options().aids.dense_aux);
  EXPECT_DOUBLE_EQ(built->options().aids.dense_ce_coef, 1.5);
}

TEST(DetrTrainingAids, ZeroLearnedContentEqualsTheOfficialZeros) {
  CategoryTable cats;
  for (int i = 0; i < 3; ++i) cats.add(i + 1, "c" + std::to_string(i));
  torch::manual_seed(1);
  Detr plain(tiny(), cats);
  auto o = tiny();
  o.aids.learned_content = true;
  Detr learned(o, cats);
  {
    torch::NoGradGuard ng;
    auto src = plain.named_parameters();
    for (auto& kv : learned.named_parameters())
      if (src.contains(kv.key())) kv.value().copy_(src[kv.key()]);
    for (auto& kv : learned.named_buffers()) kv.value().copy_(plain.named_buffers()[kv.key()]);
    learned.aids().tgt_embed->weight.zero_();
  }
  plain.eval();
  learned.eval();
  torch::NoGradGuard ng;
  auto images = torch::randn({1, 3, 64, 64});
  auto mask = torch::zeros({1, 64, 64}, torch::kBool);
  auto a = plain.forward(images, mask), b = learned.forward(images, mask);
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
  {
    torch::NoGradGuard g2;
    learned.aids().tgt_embed->weight.normal_();
  }
  auto c = learned.forward(images, mask);
  EXPECT_FALSE(torch::allclose(a.logits, c.logits));
}

TEST(DetrTrainingAids, DenseLossTermsTrainTheHead) {
  CategoryTable cats;
  for (int i = 0; i < 3; ++i) cats.add(i + 1, "c" + std::to_string(i));
  torch::manual_seed(2);
  auto o = tiny();
  o.aids.dense_aux = true;
  auto r = test::tiny_resnet_options();
  r.norm = ResNetNorm::BatchNorm;
  r.frozen_stages = 0;
  r.dilation = true;
  o.backbone = resnet_backbone(r);
  Detr m(o, cats);
  m.train();
  Batch b;
  b.images = torch::randn({2, 3, 64, 64});
  b.pad_mask = torch::zeros({2, 64, 64}, torch::kBool);
  b.targets = {target({{4, 4, 40, 30}}, {0}, 64, 64), target({{10, 20, 60, 60}, {0, 0, 8, 8}}, {2, 1}, 64, 64)};
  auto losses = m.loss(b);
  for (const char* k : {"loss_dense_ce", "loss_dense_bbox", "loss_dense_giou"}) {
    ASSERT_TRUE(losses.contains(k)) << k;
    EXPECT_TRUE(std::isfinite(losses[k].item<double>())) << k;
    EXPECT_GT(losses[k].item<double>(), 0.0) << k;
  }
  losses["loss_dense_bbox"].backward();
  EXPECT_GT(m.aids().aux_dense->bbox_embed->parameters()[0].grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(m.body->parameters()[0].grad().abs().sum().item<double>(), 0.0);  // reaches the backbone
}

}  // namespace

}  // namespace seer_test_test_detr_training_aids
