// The Swin Transformer backbone against the official Grounding DINO Swin
// (IDEA-Research/GroundingDINO 856dde20, run by
// scripts/fixtures/make_swin_fixtures.py): state_dict names, shapes and
// relative_position_index, outputs of two small random models (window 7 with
// out stages 2-4, window 12 with all four and ape) on odd-sized inputs; the
// official names of Swin-T and Swin-L; the `swin` entry of the backbone table;
// frozen stages, autocast, backward and ImageNet classifier checkpoints.
#include <gtest/gtest.h>

#include <cmath>

#include "core/checkpoint.h"
#include "core/config.h"
#include "core/error.h"
#include "models/backbones/backbone.h"
#include "models/backbones/swin.h"
#include "models/detr_fixture.h"
#include "train/amp.h"
namespace seer_test_test_swin {

namespace {

using namespace seer;
using test::PtDict;

std::vector<int64_t> vec(const torch::Tensor& t) {
  auto l = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
}

// The small Swin-T shape the unit tests use (the parity fixture's w7 case).
SwinOptions small_options() {
  SwinOptions o;
  o.embed_dim = 12;
  o.depths = {2, 2, 2, 2};
  o.num_heads = {3, 6, 12, 24};
  return o;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void check_case(const std::string& name) {
  PtDict fx("swin/" + name + ".pt");
  SwinOptions o;
  o.embed_dim = fx["embed_dim"].item<int64_t>();
  o.depths = vec(fx["depths"]);
  o.num_heads = vec(fx["num_heads"]);
  o.window_size = fx["window_size"].item<int64_t>();
  o.ape = fx["ape"].item<int64_t>() != 0;
  o.pretrain_img_size = fx["pretrain_img_size"].item<int64_t>();
  const auto out_indices = vec(fx["out_indices"]);
  o.out_stages.clear();
  for (auto i : out_indices) o.out_stages.push_back(i + 1);
  SwinTransformer swin(o);

  const auto official = test::parse_names(fx.str("state_names"));
  EXPECT_EQ(test::diff_names(test::state_shapes(*swin), official), "");

  // the official state_dict: stored weights + the one stored index under every block's name
  const auto index = fx["relative_position_index"].to(torch::kLong);
  StateDict sd;
  for (const auto& [k, shape] : official) {
    if (ends_with(k, ".relative_position_index")) sd.insert(k, index);
    else sd.insert(k, fx["state/" + k].to(torch::kFloat));
  }
  int64_t indices = 0;
  for (const auto& kv : swin->named_buffers()) {
    if (!ends_with(kv.key(), ".relative_position_index")) continue;
    EXPECT_TRUE(torch::equal(kv.value(), index)) << kv.key();
    ++indices;
  }
  EXPECT_EQ(indices, 8);
  auto report = load_state_dict(*swin, sd, /*strict=*/true, name);
  EXPECT_TRUE(report.clean()) << report.summary();

  swin->eval();
  torch::NoGradGuard ng;
  auto maps = swin->forward_features(fx["input"].to(torch::kFloat));
  ASSERT_EQ(maps.size(), out_indices.size());
  for (size_t j = 0; j < maps.size(); ++j) {
    const auto key = "out" + std::to_string(out_indices[j]);
    EXPECT_CLOSE(maps[j], fx[key], 1e-4, name + " " + key);
  }
}

TEST(SwinParity, Window7Stages234) { check_case("w7_out123"); }
TEST(SwinParity, Window12AllStagesWithApe) { check_case("w12_out0123"); }

seer::BackboneSpec backbone_of(const std::string& yaml) {
  Config c = Config::from_string(yaml, "t.yaml");
  auto spec = read_backbone_spec(c.root().sub("model").sub("backbone"));
  c.check_unknown_keys();
  return spec;
}

std::string config_error(const std::string& yaml) {
  try {
    backbone_of(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SwinBackbone, TableBuildsTinyWithTheOfficialNames) {
  auto spec = backbone_of("model: {backbone: {type: swin, variant: tiny}}");
  EXPECT_EQ(spec.type, "swin");
  EXPECT_EQ(spec.num_stages, 4);
  EXPECT_EQ(spec.pretrained, "");
  auto b = spec.build({2, 3, 4});
  EXPECT_EQ(b->strides(), (std::vector<int64_t>{8, 16, 32}));
  EXPECT_EQ(b->channels(), (std::vector<int64_t>{192, 384, 768}));
  PtDict names("swin/names.pt");
  EXPECT_EQ(test::diff_names(test::state_shapes(*b), test::parse_names(names.str("swin_T_224_1k_out123"))), "");
  EXPECT_FALSE(b->named_parameters().contains("norm0.weight"));
  // registration order is the official one too
  auto own = module_state_dict(*b);
  EXPECT_EQ(own.keys().front(), "patch_embed.proj.weight");
  EXPECT_EQ(own.keys()[4], "layers.0.blocks.0.norm1.weight");
  EXPECT_EQ(own.keys()[6], "layers.0.blocks.0.attn.relative_position_bias_table");
  EXPECT_EQ(own.keys()[7], "layers.0.blocks.0.attn.relative_position_index");
  EXPECT_EQ(own.keys().back(), "norm3.bias");

  auto swin = std::dynamic_pointer_cast<SwinTransformerImpl>(b);
  ASSERT_TRUE(swin);
  EXPECT_EQ(swin->options().drop_path_rate, 0.2);  // Grounding DINO's builder default
  EXPECT_EQ(swin->options().frozen_stages, -1);
}

TEST(SwinBackbone, LargeWithAllStagesHasTheOfficialNames) {
  // UPN: Swin-L 384, norm0..norm3
  auto b = backbone_of("model: {backbone: {type: swin, variant: large}}").build({1, 2, 3, 4});
  EXPECT_EQ(b->strides(), (std::vector<int64_t>{4, 8, 16, 32}));
  EXPECT_EQ(b->channels(), (std::vector<int64_t>{192, 384, 768, 1536}));
  PtDict names("swin/names.pt");
  EXPECT_EQ(test::diff_names(test::state_shapes(*b), test::parse_names(names.str("swin_L_384_22k_out0123"))), "");
}

TEST(SwinBackbone, VariantsAndExplicitKeys) {
  auto base = swin_variant("base");
  EXPECT_EQ(base.embed_dim, 128);
  EXPECT_EQ(base.depths, (std::vector<int64_t>{2, 2, 18, 2}));
  EXPECT_EQ(base.num_heads, (std::vector<int64_t>{4, 8, 16, 32}));
  EXPECT_EQ(base.window_size, 12);
  EXPECT_EQ(swin_variant("small").depths, (std::vector<int64_t>{2, 2, 18, 2}));
  EXPECT_EQ(swin_variant("large").num_heads, (std::vector<int64_t>{6, 12, 24, 48}));
  EXPECT_THROW(swin_variant("huge"), RuntimeError);

  Config c = Config::from_string(
      "model: {backbone: {type: swin, variant: base, embed_dim: 16, depths: [2, 1], num_heads: [2, 4], "
      "window_size: 5, drop_path_rate: 0.1, frozen_stages: 1, mlp_ratio: 2.0}}",
      "t.yaml");
  auto o = read_swin_options(c.root().sub("model").sub("backbone"));
  EXPECT_EQ(o.embed_dim, 16);
  EXPECT_EQ(o.depths, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(o.window_size, 5);
  EXPECT_EQ(o.pretrain_img_size, 384);  // from the variant
  EXPECT_DOUBLE_EQ(o.drop_path_rate, 0.1);
  EXPECT_EQ(o.frozen_stages, 1);
  auto spec = swin_backbone(o);
  EXPECT_EQ(spec.num_stages, 2);
  auto b = spec.build({1, 2});
  torch::NoGradGuard ng;
  auto maps = b->forward_features(torch::randn({1, 3, 30, 41}));
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].sizes(), (std::vector<int64_t>{1, 16, 8, 11}));
  EXPECT_EQ(maps[1].sizes(), (std::vector<int64_t>{1, 32, 4, 6}));
}

TEST(SwinBackbone, BadKeysAreConfigErrorsNamingTheKey) {
  struct Case {
    const char* backbone;
    const char* key;
  };
  for (const auto& c : std::vector<Case>{
           {"variant: huge", "model.backbone.variant"},
           {"num_heads: [3, 6, 12]", "model.backbone.num_heads"},
           {"num_heads: [5, 6, 12, 24]", "model.backbone.num_heads"},
           {"depths: [2, 0, 6, 2]", "model.backbone.depths"},
           {"frozen_stages: 6", "model.backbone.frozen_stages"},
           {"drop_path_rate: 1.0", "model.backbone.drop_path_rate"},
           {"window_size: 0", "model.backbone.window_size"},
           {"windowsize: 7", "model.backbone.windowsize"},
       }) {
    const std::string e = config_error(std::string("model: {backbone: {type: swin, ") + c.backbone + "}}");
    EXPECT_NE(e.find(c.key), std::string::npos) << c.backbone << " -> '" << e << "'";
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_NE(config_error("model: {backbone: {type: swim}}").find("swin"), std::string::npos);
}

TEST(SwinBackbone, AnyInputSize) {
  auto o = small_options();
  o.out_stages = {1, 2, 3, 4};
  SwinTransformer swin(o);
  swin->eval();
  torch::NoGradGuard ng;
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{5, 7}, {33, 45}, {64, 64}, {97, 31}}) {
    auto maps = swin->forward_features(torch::randn({2, 3, h, w}));
    int64_t hh = (h + 3) / 4, ww = (w + 3) / 4;
    for (int64_t s = 0; s < 4; ++s) {
      EXPECT_EQ(maps[s].sizes(), (std::vector<int64_t>{2, 12 << s, hh, ww})) << h << "x" << w << " stage " << s + 1;
      EXPECT_TRUE(torch::isfinite(maps[s]).all().item<bool>());
      hh = (hh + 1) / 2;
      ww = (ww + 1) / 2;
    }
  }
}

TEST(SwinBackbone, FrozenStagesSetRequiresGradAndEvalMode) {
  auto o = small_options();
  o.ape = true;
  o.pretrain_img_size = 64;
  o.frozen_stages = 2;
  SwinTransformer swin(o);
  for (const auto& kv : swin->named_parameters()) {
    const std::string& n = kv.key();
    const bool frozen = n.rfind("patch_embed.", 0) == 0 || n == "absolute_pos_embed" || n.rfind("layers.0.", 0) == 0;
    EXPECT_EQ(kv.value().requires_grad(), !frozen) << n;
  }
  swin->train();
  EXPECT_TRUE(swin->is_training());
  EXPECT_FALSE(swin->named_children()["patch_embed"]->is_training());
  EXPECT_FALSE(swin->named_modules()["layers.0.blocks.1"]->is_training());
  EXPECT_TRUE(swin->named_modules()["layers.1.blocks.1"]->is_training());
  swin->eval();
  EXPECT_FALSE(swin->named_modules()["layers.1"]->is_training());

  o.frozen_stages = 0;
  SwinTransformer only_patch(o);
  EXPECT_FALSE(only_patch->named_parameters()["patch_embed.proj.weight"].requires_grad());
  EXPECT_TRUE(only_patch->named_parameters()["absolute_pos_embed"].requires_grad());
  EXPECT_TRUE(only_patch->named_parameters()["layers.0.blocks.0.attn.qkv.weight"].requires_grad());
  o.frozen_stages = -1;
  SwinTransformer none(o);
  for (const auto& p : none->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(SwinBackbone, InitIsTruncatedNormalAndZeroBiases) {
  torch::manual_seed(0);
  SwinTransformer swin(swin_variant("tiny"));
  auto p = swin->named_parameters();
  auto qkv = p["layers.2.blocks.3.attn.qkv.weight"];
  EXPECT_NEAR(qkv.std().item<double>(), 0.02, 0.002);
  EXPECT_LE(qkv.abs().max().item<double>(), 2.0);
  EXPECT_NEAR(p["layers.0.blocks.0.attn.relative_position_bias_table"].std().item<double>(), 0.02, 0.004);
  EXPECT_EQ(p["layers.0.blocks.0.mlp.fc1.bias"].abs().max().item<double>(), 0.0);
  EXPECT_EQ(p["norm3.weight"].min().item<double>(), 1.0);
  EXPECT_EQ(p["layers.1.downsample.norm.bias"].abs().max().item<double>(), 0.0);
}

TEST(SwinBackbone, Bf16AutocastGivesFiniteMaps) {
  torch::manual_seed(0);
  auto o = small_options();
  o.ape = true;
  o.pretrain_img_size = 64;
  SwinTransformer swin(o);
  swin->eval();
  torch::NoGradGuard ng;
  auto x = torch::randn({2, 3, 61, 90});
  auto want = swin->forward_features(x);
  std::vector<torch::Tensor> got;
  {
    AutocastGuard guard(AmpMode::BF16, torch::kCPU);
    got = swin->forward_features(x);
  }
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(torch::isfinite(got[i]).all().item<bool>()) << i;
    // bf16 has 8 bits of mantissa; normalised maps stay close
    EXPECT_LT((got[i].to(torch::kFloat) - want[i]).abs().mean().item<double>(), 0.1) << i;
  }
}

TEST(SwinBackbone, BackwardInTrainingModeWithDropPath) {
  torch::manual_seed(0);
  auto o = small_options();
  o.drop_path_rate = 0.5;
  SwinTransformer swin(o);
  swin->train();
  auto x = torch::randn({4, 3, 40, 52});
  auto maps = swin->forward_features(x);
  auto loss = maps[0].pow(2).mean() + maps[1].pow(2).mean() + maps[2].pow(2).mean();
  loss.backward();
  for (const auto& kv : swin->named_parameters()) {
    ASSERT_TRUE(kv.value().grad().defined()) << kv.key();
    EXPECT_TRUE(torch::isfinite(kv.value().grad()).all().item<bool>()) << kv.key();
  }
  // drop path is stochastic in training and off in eval
  torch::NoGradGuard ng;
  auto a = swin->forward_features(x)[2], b = swin->forward_features(x)[2];
  EXPECT_FALSE(torch::allclose(a, b));
  swin->eval();
  EXPECT_TRUE(torch::equal(swin->forward_features(x)[2], swin->forward_features(x)[2]));
}

TEST(SwinBackbone, LoadsAnImageNetClassifierCheckpoint) {
  // Microsoft's swin_*_patch4_window*.pth: the backbone without the per-output
  // norms, plus head.*, the final norm.*, attn_mask buffers of shifted blocks
  // and relative_position_index.
  const std::string dir = test::temp_dir("swin_pretrained");
  torch::manual_seed(3);
  auto o = small_options();
  o.out_stages = {1, 2, 3, 4};
  SwinTransformer source(o);
  StateDict file;
  for (const auto& kv : module_state_dict(*source))
    if (kv.key().rfind("norm", 0) != 0) file.insert(kv.key(), kv.value().detach().clone());
  file.insert("layers.0.blocks.1.attn_mask", torch::zeros({64, 49, 49}));
  file.insert("norm.weight", torch::ones({96}));
  file.insert("norm.bias", torch::zeros({96}));
  file.insert("head.weight", torch::randn({1000, 96}));
  file.insert("head.bias", torch::zeros({1000}));
  write_pth(dir + "/swin_classifier.pth", file);

  auto spec = backbone_of("model: {backbone: {type: swin, embed_dim: 12, depths: [2, 2, 2, 2], frozen_stages: 1, "
                          "pretrained: " + dir + "/swin_classifier.pth}}");
  EXPECT_EQ(spec.pretrained, dir + "/swin_classifier.pth");
  torch::manual_seed(4);
  auto b = spec.build({2, 3, 4});
  const auto norm1_before = b->named_parameters()["norm1.weight"].clone();
  load_pretrained_backbone(*b, spec.pretrained);
  for (const auto& kv : module_state_dict(*b)) {
    if (kv.key().rfind("norm", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(kv.value(), file[kv.key()])) << kv.key();
  }
  EXPECT_TRUE(torch::equal(b->named_parameters()["norm1.weight"], norm1_before));  // kept at init
  EXPECT_FALSE(b->named_parameters()["patch_embed.proj.weight"].requires_grad());   // freezing re-applied

  // a checkpoint without relative_position_index (RAM deletes them) loads too,
  // one that lacks a real weight is refused with the file named
  StateDict no_index, partial;
  for (const auto& kv : file) {
    if (!ends_with(kv.key(), ".relative_position_index")) no_index.insert(kv.key(), kv.value());
    if (kv.key() != "layers.1.blocks.0.mlp.fc2.weight") partial.insert(kv.key(), kv.value());
  }
  write_pth(dir + "/no_index.pth", no_index);
  write_pth(dir + "/partial.pth", partial);
  EXPECT_NO_THROW(load_pretrained_backbone(*b, dir + "/no_index.pth"));
  try {
    load_pretrained_backbone(*b, dir + "/partial.pth");
    ADD_FAILURE() << "expected an error";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("partial.pth"), std::string::npos) << e.what();
  }
}

}  // namespace

}  // namespace seer_test_test_swin
