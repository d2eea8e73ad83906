// DETR against the official model (facebookresearch/detr@29901c51, run by
// scripts/fixtures/make_detr_fixtures.py): same state_dict names and shapes,
// same outputs of every decoder layer, same losses (SetCriterion with aux),
// same gradients, same frozen parameters. Variants: ResNet-18 post-norm,
// ResNet-18 pre-norm, ResNet-50 DC5; hidden 64, 4 heads, 2+2 layers, ffn 128,
// 10 queries, 5 classes, dropout 0; 2 images of different sizes.
#include <set>

#include "models/detr/detr.h"
#include "models/detr_fixture.h"
namespace seer_test_test_detr_parity {

namespace {

using namespace seer;
using test::PtDict;

DetrOptions small_options(int64_t depth, bool dilation, bool pre_norm) {
  DetrOptions o;
  o.num_classes = 5;
  o.num_queries = 10;
  ResNetOptions r;
  r.depth = depth;
  r.dilation = dilation;
  o.backbone = resnet_backbone(r);
  o.transformer.d_model = 64;
  o.transformer.nhead = 4;
  o.transformer.num_encoder_layers = 2;
  o.transformer.num_decoder_layers = 2;
  o.transformer.dim_feedforward = 128;
  o.transformer.dropout = 0.0;
  o.transformer.normalize_before = pre_norm;
  return o;
}

CategoryTable five_classes() {
  CategoryTable c;
  for (int i = 0; i < 5; ++i) c.add(i + 1, "c" + std::to_string(i));
  return c;
}

Batch fixture_batch(const PtDict& in) {
  Batch b;
  b.images = in["images"];
  b.pad_mask = in["mask"];
  for (int j = 0; in.has("target" + std::to_string(j) + "/labels"); ++j) {
    const std::string p = "target" + std::to_string(j) + "/";
    Target t;
    t.boxes = in[p + "boxes_xyxy"];
    t.labels = in[p + "labels"];
    auto s = in[p + "size"];
    t.size = {s[0].item<int64_t>(), s[1].item<int64_t>()};
    t.orig_size = t.size;
    t.image_id = j;
    b.targets.push_back(t);
  }
  return b;
}

void check_variant(const std::string& name, const DetrOptions& opts) {
  std::cout << "[parity] reference " << test::kDetrRef << ", fixture " << name << std::endl;
  PtDict fx("detr/" + name + ".pt");
  PtDict in("detr/inputs.pt");
  auto model = std::make_shared<Detr>(opts, five_classes());

  // 1. the official state_dict names and shapes, no more, no fewer
  auto official = test::parse_names(fx.str("state_names"));
  auto diff = test::diff_names(test::state_shapes(*model), official);
  EXPECT_EQ(diff, "") << name;
  test::load_hashed(*model);
  model->body->apply_freezing();

  // 2. frozen parameters
  std::set<std::string> frozen_official, frozen_ours;
  std::istringstream fs(fx.str("frozen_names"));
  for (std::string l; std::getline(fs, l);)
    if (!l.empty()) frozen_official.insert(l);
  for (const auto& kv : model->named_parameters())
    if (!kv.value().requires_grad()) frozen_ours.insert(kv.key());
  EXPECT_EQ(frozen_ours, frozen_official);

  // 3. outputs of every decoder layer
  model->train();
  auto batch = fixture_batch(in);
  {
    torch::NoGradGuard ng;
    auto out = model->forward(batch.images, batch.pad_mask);
    const int64_t L = out.logits.size(0);
    ASSERT_EQ(L, 2);
    EXPECT_CLOSE(out.logits[L - 1], fx["pred_logits"], 1e-4, name + " pred_logits");
    EXPECT_CLOSE(out.boxes[L - 1], fx["pred_boxes"], 1e-4, name + " pred_boxes");
    EXPECT_CLOSE(out.logits[0], fx["aux0/pred_logits"], 1e-4, name + " aux0/pred_logits");
    EXPECT_CLOSE(out.boxes[0], fx["aux0/pred_boxes"], 1e-4, name + " aux0/pred_boxes");
    auto ft = model->forward_tensors({batch.images, batch.pad_mask});
    EXPECT_TRUE(torch::equal(ft[0], out.logits[L - 1]));
    EXPECT_TRUE(torch::equal(ft[1], out.boxes[L - 1]));
    // intermediate checks localise a mismatch
    auto feat = model->body->forward(batch.images);
    EXPECT_CLOSE(feat.narrow(1, 0, 64), fx["debug/features"], 1e-3, name + " backbone features[:, :64]");
    auto m = fx["debug/feature_mask"];
    EXPECT_CLOSE(model->position_embedding->forward(m), fx["debug/pos"], 1e-5, name + " position embedding");
    EXPECT_GT(m.sum().item<int64_t>(), 0) << "the padding must reach the feature mask";
  }

  // 4. losses (weighted, with aux) and logging values, then gradients
  auto losses = model->loss(batch);
  size_t n_ref = 0;
  torch::Tensor total = torch::zeros({});
  for (const auto& [k, v] : fx.tensors()) {
    if (k.rfind("loss/", 0) != 0) continue;
    ++n_ref;
    std::string key = k.substr(5);
    if (key.find("error") != std::string::npos) key = "log/" + key;
    ASSERT_TRUE(losses.contains(key)) << "missing " << key;
    EXPECT_CLOSE(losses[key], v, 1e-4, name + " " + key);
  }
  EXPECT_EQ(n_ref, losses.size()) << "same set of loss entries";
  for (const auto& kv : losses)
    if (kv.key().rfind("log/", 0) != 0) total = total + kv.value();
  EXPECT_CLOSE(total, fx["loss_total"], 1e-4, name + " total loss");
  total.backward();
  auto params = model->named_parameters();
  for (const auto& [k, v] : fx.tensors()) {
    if (k.rfind("grad/", 0) != 0) continue;
    const std::string p = k.substr(5);
    ASSERT_TRUE(params.contains(p)) << p;
    auto g = params[p].grad();
    ASSERT_TRUE(g.defined()) << "no gradient reached " << p;
    const double scale = std::max(1.0, fx["gradnorm/" + p].item<double>());
    EXPECT_CLOSE(g.flatten().narrow(0, 0, v.numel()) / scale, v / scale, 1e-4, name + " grad " + p + " (relative)");
    EXPECT_NEAR(g.norm().item<double>(), fx["gradnorm/" + p].item<double>(), 1e-4 * scale) << p;
  }
  for (const auto& kv : params)
    if (!kv.value().requires_grad()) EXPECT_FALSE(kv.value().grad().defined()) << kv.key();
}

TEST(DetrParity, ResNet18PostNorm) { check_variant("r18_post", small_options(18, false, false)); }
TEST(DetrParity, ResNet18PreNorm) { check_variant("r18_pre", small_options(18, false, true)); }
TEST(DetrParity, ResNet50DC5) { check_variant("r50_dc5", small_options(50, true, false)); }

// The comparison above can fail: a class bias off by 1e-3 shows in the logits.
TEST(DetrParity, DetectsAPerturbedWeight) {
  PtDict fx("detr/r18_post.pt");
  PtDict in("detr/inputs.pt");
  Detr model(small_options(18, false, false), five_classes());
  test::load_hashed(model);
  {
    torch::NoGradGuard ng;
    model.class_embed->bias[2] += 1e-3;
  }
  torch::NoGradGuard ng;
  auto out = model.forward(in["images"], in["mask"]);
  EXPECT_NEAR(test::max_abs_err(out.logits[1], fx["pred_logits"]), 1e-3, 1e-5);
  EXPECT_LT(test::max_abs_err(out.boxes[1], fx["pred_boxes"]), 1e-6);  // the boxes do not see the class bias
  auto pred = fx["pred_logits"];
  EXPECT_GT(pred.abs().max().item<double>(), 0.1) << "fixture outputs must not be trivial";
  EXPECT_GT(pred.std().item<double>(), 0.1);
}

// The full default DETR-R50 (COCO, 91 classes) and an R101-DC5 pre-norm
// learned-PE variant have exactly the official state_dict names and shapes.
TEST(DetrParity, OfficialStateDictNames) {
  PtDict names("detr/names.pt");
  CategoryTable coco;  // dataset_ids up to 90 -> 91 classes
  coco.add(1, "person");
  coco.add(90, "toothbrush");
  DetrOptions o;
  o.label_space = LabelSpace::DatasetIds;
  Detr r50(o, coco);
  EXPECT_EQ(r50.options().num_classes, 91);
  auto official = test::parse_names(names.str("r50"));
  EXPECT_EQ(official.size(), 0u + test::state_shapes(r50).size());
  EXPECT_EQ(test::diff_names(test::state_shapes(r50), official), "");

  ResNetOptions r101_options;
  r101_options.depth = 101;
  r101_options.dilation = true;
  o.backbone = resnet_backbone(r101_options);
  o.transformer.normalize_before = true;
  o.position_embedding = "learned";
  Detr r101(o, coco);
  EXPECT_EQ(test::diff_names(test::state_shapes(r101), test::parse_names(names.str("r101_dc5_pre_learned"))), "");
}

}  // namespace

}  // namespace seer_test_test_detr_parity
