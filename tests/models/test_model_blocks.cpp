// Shared blocks: position encodings (DETR and Deformable-DETR variants),
// FrozenBatchNorm2d, MLP, ResNet shapes and dilation.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config.h"
#include "core/error.h"
#include "models/backbones/backbone.h"
#include "models/backbones/resnet.h"
#include "ops/frozen_batch_norm.h"
#include "ops/mlp.h"
#include "ops/position_encoding.h"
namespace seer_test_test_model_blocks {

namespace {

using namespace seer;

TEST(PositionEmbeddingSine, NormalisesOverTheValidAreaWithOptionalOffset) {
  auto mask = torch::zeros({1, 2, 4}, torch::kBool);
  mask.index_put_({0, torch::indexing::Slice(), 3}, true);  // last column padded
  PositionEmbeddingSineOptions o;
  o.num_pos_feats = 4;
  auto pos = PositionEmbeddingSine(o).forward(mask);  // [1, 8, 2, 4]
  ASSERT_EQ(pos.sizes(), (std::vector<int64_t>{1, 8, 2, 4}));
  // x channel 0 (= channel 4): sin(x / 1), x = col / (3 + 1e-6) * 2 pi, col 1-based
  const double x1 = 1.0 / (3.0 + 1e-6) * 2 * M_PI;
  EXPECT_NEAR(pos[0][4][0][0].item<double>(), std::sin(x1), 1e-6);
  // y channel 1: cos(y / 10000^(0/4)); y = row / (2 + 1e-6) * 2 pi
  EXPECT_NEAR(pos[0][1][1][2].item<double>(), std::cos(2.0 / (2.0 + 1e-6) * 2 * M_PI), 1e-6);
  // channel 2: sin(y / 10000^(2/4)) = sin(y / 100)
  EXPECT_NEAR(pos[0][2][0][0].item<double>(), std::sin(1.0 / (2.0 + 1e-6) * 2 * M_PI / 100.0), 1e-6);
  o.offset = -0.5;  // Deformable DETR
  auto pos2 = PositionEmbeddingSine(o).forward(mask);
  EXPECT_NEAR(pos2[0][4][0][0].item<double>(), std::sin(0.5 / (3.0 + 1e-6) * 2 * M_PI), 1e-6);
  EXPECT_THROW(PositionEmbeddingSine(o).forward(mask.to(torch::kFloat)), RuntimeError);
}

TEST(PositionEmbeddingLearned, ColumnsThenRows) {
  PositionEmbeddingLearned pe(3, 50);
  auto pos = pe.forward(torch::zeros({2, 4, 5}, torch::kBool));
  ASSERT_EQ(pos.sizes(), (std::vector<int64_t>{2, 6, 4, 5}));
  EXPECT_TRUE(torch::equal(pos[1].select(1, 2).select(1, 3).narrow(0, 0, 3), pe.col_embed->weight[3]));
  EXPECT_TRUE(torch::equal(pos[0].select(1, 2).select(1, 3).narrow(0, 3, 3), pe.row_embed->weight[2]));
  EXPECT_EQ(pe.named_parameters().size(), 2u);
  EXPECT_THROW(pe.forward(torch::zeros({1, 51, 2}, torch::kBool)), RuntimeError);
}

TEST(FrozenBatchNorm2d, EpsInsideTheRsqrtAndBuffersOnly) {
  FrozenBatchNorm2d bn(2);
  bn->weight.copy_(torch::tensor({2.f, 1.f}));
  bn->bias.copy_(torch::tensor({0.5f, 0.f}));
  bn->running_mean.copy_(torch::tensor({1.f, -1.f}));
  bn->running_var.copy_(torch::tensor({4.f, 0.f}));
  auto x = torch::ones({1, 2, 1, 1});
  auto y = bn(x);
  EXPECT_NEAR(y[0][0][0][0].item<double>(), (1 - 1) * 2 / std::sqrt(4 + 1e-5) + 0.5, 1e-6);
  EXPECT_NEAR(y[0][1][0][0].item<double>(), (1 + 1) / std::sqrt(1e-5), 1e-2);
  EXPECT_EQ(bn->parameters().size(), 0u);
  EXPECT_EQ(bn->buffers().size(), 4u);
}

TEST(MLP, ShapesAndNames) {
  MLP mlp(8, 16, 4, 3);
  EXPECT_EQ(mlp(torch::randn({2, 5, 8})).sizes(), (std::vector<int64_t>{2, 5, 4}));
  auto names = mlp->named_parameters();
  EXPECT_TRUE(names.contains("layers.0.weight") && names.contains("layers.2.bias"));
  EXPECT_EQ(names.size(), 6u);
  EXPECT_THROW(MLP(1, 1, 1, 0), RuntimeError);
}

TEST(ResNet, StridesChannelsAndDilation) {
  ResNetOptions o;
  o.depth = 18;
  o.return_layers = {1, 2, 3, 4};
  ResNet r18(o);
  torch::NoGradGuard ng;
  auto f = r18->forward_features(torch::randn({1, 3, 64, 96}));
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].sizes(), (std::vector<int64_t>{1, 64, 16, 24}));
  EXPECT_EQ(f[3].sizes(), (std::vector<int64_t>{1, 512, 2, 3}));
  o.depth = 50;
  o.dilation = true;
  o.return_layers = {4};
  ResNet r50(o);
  EXPECT_EQ(r50->num_channels(), 2048);
  EXPECT_EQ(r50->forward(torch::randn({1, 3, 64, 96})).sizes(), (std::vector<int64_t>{1, 2048, 4, 6}));
  o.depth = 18;  // seer allows a dilated BasicBlock (torchvision does not): stride 16
  ResNet r18d(o);
  EXPECT_EQ(r18d->forward(torch::randn({1, 3, 64, 96})).sizes(), (std::vector<int64_t>{1, 512, 4, 6}));
  EXPECT_EQ(r18d->named_parameters().size(), r18->named_parameters().size());  // same weights, same names
  o.depth = 20;
  o.dilation = false;
  EXPECT_THROW(ResNet{o}, RuntimeError);
}

}  // namespace

namespace {

using namespace seer;

seer::BackboneSpec backbone_of(const std::string& yaml) {
  Config c = Config::from_string(yaml, "t.yaml");
  auto spec = read_backbone_spec(c.root().sub("model").sub("backbone"));
  c.check_unknown_keys();
  return spec;
}

TEST(BackboneTable, ResNetStagesStridesAndChannels) {
  EXPECT_EQ(backbone_types(), (std::vector<std::string>{"resnet", "swin"}));
  auto spec = backbone_of("model: {backbone: {depth: 18, norm: batch_norm, frozen_stages: 0}}");
  EXPECT_EQ(spec.type, "resnet");
  EXPECT_EQ(spec.num_stages, 4);
  auto b = spec.build({2, 3, 4});
  EXPECT_EQ(b->strides(), (std::vector<int64_t>{8, 16, 32}));
  EXPECT_EQ(b->channels(), (std::vector<int64_t>{128, 256, 512}));
  torch::NoGradGuard ng;
  auto maps = b->forward_features(torch::randn({1, 3, 64, 96}));
  ASSERT_EQ(maps.size(), 3u);
  for (size_t i = 0; i < maps.size(); ++i) {
    EXPECT_EQ(maps[i].size(1), b->channels()[i]);
    EXPECT_EQ(maps[i].size(2), 64 / b->strides()[i]);
  }
  // DC5: the last stage keeps stride 16
  auto dc5 = backbone_of("model: {backbone: {depth: 50, dilation: true}}").build({4});
  EXPECT_EQ(dc5->strides(), std::vector<int64_t>{16});
  EXPECT_EQ(dc5->channels(), std::vector<int64_t>{2048});
  EXPECT_EQ(dc5->classifier_prefixes(), std::vector<std::string>{"fc."});
}

TEST(BackboneTable, UnknownTypeNamesTheKey) {
  try {
    backbone_of("model: {backbone: {type: swim}}");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model.backbone.type"), std::string::npos) << m;
    EXPECT_NE(m.find("resnet"), std::string::npos) << m;
  }
}

}  // namespace

}  // namespace seer_test_test_model_blocks
