// DETR beyond parity: config keys and errors, class count and label spaces,
// predict() in original pixels, frozen stages, trainable BatchNorm, gradients.
#include <set>

#include <torch/script.h>

#include "core/checkpoint.h"
#include "core/config.h"
#include "core/error.h"
#include "models/detr/detr.h"
#include "models/detr_fixture.h"
#include "train/model_io.h"
namespace seer_test_test_detr_model {

namespace {

using namespace seer;

DetrOptions tiny(int64_t num_classes = -1) { return test::tiny_detr_options(num_classes); }

CategoryTable table(const std::vector<int64_t>& ids) {
  CategoryTable c;
  for (auto id : ids) c.add(id, "id" + std::to_string(id));
  return c;
}

Batch batch_of(int64_t B, int64_t H, int64_t W) {
  torch::manual_seed(3);
  Batch b;
  b.images = torch::randn({B, 3, H, W});
  b.pad_mask = torch::zeros({B, H, W}, torch::kBool);
  for (int64_t i = 0; i < B; ++i) {
    Target t;
    t.boxes = torch::tensor({{4.f, 6.f, 30.f, 40.f}, {10.f, 2.f, 60.f, 20.f}});
    t.labels = torch::tensor({0, 1}, torch::kLong);
    t.size = {H, W};
    t.orig_size = {2 * H, 2 * W};
    t.image_id = 100 + i;
    b.targets.push_back(t);
  }
  return b;
}

// Heads set so that every query predicts `boxes_logit` (before sigmoid) and
// class logits `bias` (C + 1 entries).
void fix_heads(Detr& m, const std::vector<float>& bias, const std::vector<float>& box_bias) {
  torch::NoGradGuard ng;
  m.class_embed->weight.zero_();
  m.class_embed->bias.copy_(torch::tensor(bias));
  auto last = m.bbox_embed->layers[2]->as<torch::nn::Linear>();
  last->weight.zero_();
  last->bias.copy_(torch::tensor(box_bias));
}

float logit(float p) { return std::log(p / (1 - p)); }

SetPrediction layer_output(const torch::Tensor& logits, const torch::Tensor& boxes) {
  SetPrediction o;
  o.logits = logits;
  o.boxes = boxes;
  return o;
}

TEST(DetrConfig, DefaultsAndResolvedKeys) {
  auto cfg = Config::from_string("model:\n  type: detr\n  num_classes: null\n");
  auto spec = read_model_spec(cfg.root());
  EXPECT_EQ(spec.type, "detr");
  cfg.check_unknown_keys();
  auto yaml = cfg.to_yaml();
  for (const char* k : {"label_space: contiguous", "num_queries: 100", "depth: 50", "frozen_stages: 1",
                        "position_embedding: sine", "hidden_dim: 256", "dim_feedforward: 2048", "pre_norm: false",
                        "set_cost_bbox: 5", "giou_loss_coef: 2", "eos_coef: 0.1"})
    EXPECT_NE(yaml.find(k), std::string::npos) << k << "\n" << yaml;
  auto model = spec.build(table({1, 2, 3}));
  auto* d = dynamic_cast<Detr*>(model.get());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->options().num_classes, 3);
  EXPECT_EQ(d->class_embed->weight.size(0), 4);
  EXPECT_EQ(d->family(), "detr");
}

TEST(DetrConfig, BadValuesAreOneLineConfigErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"label_space: coco", "model.label_space"},
      {"backbone: {dilation: 1.5}", "model.backbone.dilation"},
      {"decoder_content: random", "model.decoder_content"},
      {"dense_aux: {enabled: true, ce_coef: -1}", "model.dense_aux.ce_coef"},
      {"backbone: {depth: 42}", "model.backbone.depth"},
      {"backbone: {norm: group_norm}", "model.backbone.norm"},
      {"backbone: {frozen_stages: 5}", "model.backbone.frozen_stages"},
      {"backbone: {position_embedding: rope}", "model.backbone.position_embedding"},
      {"transformer: {hidden_dim: 100, nheads: 8}", "model.transformer.hidden_dim"},
      {"transformer: {dropout: 1.5}", "model.transformer.dropout"},
      {"num_classes: 0", "model.num_classes"},
      {"num_queries: 0", "model.num_queries"},
  };
  for (const auto& [yaml, key] : cases) {
    auto cfg = Config::from_string("model:\n  type: detr\n  " + yaml + "\n");
    try {
      read_model_spec(cfg.root());
      ADD_FAILURE() << "no error for " << yaml;
    } catch (const ConfigError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find(key), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
  for (const char* loss : {"{eos_coef: -1}", "{classification: sigmoid}", "{focal_alpha: 1.5}"}) {
    auto cfg = Config::from_string(std::string("model: {type: detr}\nloss: ") + loss + "\n");
    try {
      read_model_spec(cfg.root());
      ADD_FAILURE() << "no error for " << loss;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("loss."), std::string::npos) << e.what();
    }
  }
}

TEST(DetrConfig, FocalClassificationHasNoNoObjectColumnAndAPriorBias) {
  auto cfg = Config::from_string(
      "model: {type: detr, backbone: {depth: 18}, transformer: {hidden_dim: 32, nheads: 2, enc_layers: 1, dec_layers: 1, "
      "dim_feedforward: 32}}\nloss: {classification: focal, focal_alpha: 0.3}\n");
  auto model = read_model_spec(cfg.root()).build(table({1, 2, 3}));
  auto* d = dynamic_cast<Detr*>(model.get());
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->options().loss.classification == Classification::Focal);
  EXPECT_DOUBLE_EQ(d->options().loss.focal_alpha, 0.3);
  EXPECT_EQ(d->class_embed->weight.size(0), 3);
  EXPECT_TRUE(torch::allclose(d->class_embed->bias.sigmoid(), torch::full({3}, 0.01f)));
}

TEST(DetrConfig, NumClassesFromTheCategoryTable) {
  auto o = tiny();
  EXPECT_EQ(Detr(o, table({3, 7, 9})).options().num_classes, 3);  // contiguous: count
  o.label_space = LabelSpace::DatasetIds;
  EXPECT_EQ(Detr(o, table({3, 7, 9})).options().num_classes, 10);  // ids: max id + 1
  EXPECT_THROW(Detr(o, CategoryTable{}), ConfigError);              // null without categories
  o.num_classes = 9;
  try {
    Detr(o, table({3, 7, 9}));
    ADD_FAILURE() << "9 classes accepted for id 9";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.num_classes"), std::string::npos) << e.what();
  }
}

TEST(DetrPredict, OfficialPostprocessInOriginalPixels) {
  auto m = std::make_shared<Detr>(tiny(), table({1, 2, 3}));
  m->eval();
  // classes 0, 1, 2, no-object: class 1 wins
  fix_heads(*m, {0.5f, 2.f, -1.f, 1.f}, {0.f, 0.f, logit(0.2f), logit(0.4f)});
  auto b = batch_of(2, 64, 96);
  auto preds = m->predict(b);
  ASSERT_EQ(preds.size(), 2u);
  auto p = torch::softmax(torch::tensor({0.5f, 2.f, -1.f, 1.f}), 0);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(preds[i].image_id, 100 + i);
    ASSERT_EQ(preds[i].scores.size(0), 4);  // every query, no threshold
    EXPECT_TRUE(torch::allclose(preds[i].scores, p[1].expand({4})));
    EXPECT_TRUE(torch::all(preds[i].labels.eq(1)).item<bool>());
    // (0.5, 0.5, 0.2, 0.4) of orig (h, w) = (128, 192)
    auto want = torch::tensor({0.4f * 192, 0.3f * 128, 0.6f * 192, 0.7f * 128});
    EXPECT_TRUE(torch::allclose(preds[i].boxes, want.expand({4, 4}), 1e-4, 1e-3)) << preds[i].boxes;
  }
}

TEST(DetrPredict, DatasetIdsMapBackAndSkipUnusedIds) {
  auto o = tiny();
  o.label_space = LabelSpace::DatasetIds;
  auto m = std::make_shared<Detr>(o, table({2, 5}));  // 6 classes, ids 0, 1, 3, 4 unused
  m->eval();
  ASSERT_EQ(m->options().num_classes, 6);
  // class 3 (no category) has the highest logit, then class 5, then class 2
  std::vector<float> bias = {0.f, 0.f, 1.f, 5.f, 0.f, 3.f, 0.5f};
  fix_heads(*m, bias, {0.f, 0.f, 0.f, 0.f});
  auto preds = m->predict(batch_of(1, 64, 64));
  auto p = torch::softmax(torch::tensor(bias), 0);
  EXPECT_TRUE(torch::all(preds[0].labels.eq(1)).item<bool>()) << preds[0].labels;  // id 5 -> index 1
  EXPECT_TRUE(torch::allclose(preds[0].scores, p[5].expand({4})));
  // winner in the table: identical to the official max
  bias[3] = -2.f;
  fix_heads(*m, bias, {0.f, 0.f, 0.f, 0.f});
  preds = m->predict(batch_of(1, 64, 64));
  p = torch::softmax(torch::tensor(bias), 0);
  EXPECT_TRUE(torch::allclose(preds[0].scores, p.narrow(0, 0, 6).max().expand({4})));
  // contiguous labels -> dataset ids for the loss
  auto cls = m->labels_to_classes(torch::tensor({1, 0, 1}, torch::kLong));
  EXPECT_TRUE(torch::equal(cls, torch::tensor({5, 2, 5}, torch::kLong)));
  EXPECT_THROW(m->labels_to_classes(torch::tensor({2}, torch::kLong)), RuntimeError);
}

TEST(DetrPredict, ContiguousClassesBeyondTheTableAreNeverReported) {
  auto m = std::make_shared<Detr>(tiny(5), table({10, 20, 30}));
  m->eval();
  fix_heads(*m, {0.f, 2.f, 0.f, 0.f, 6.f, 1.f}, {0.f, 0.f, 0.f, 0.f});
  auto preds = m->predict(batch_of(1, 64, 64));
  EXPECT_TRUE(torch::all(preds[0].labels.eq(1)).item<bool>()) << preds[0].labels;
}

// Deformable DETR's PostProcess: top k of the Q * C sigmoid scores, each with
// its query's box; classes without a category never reported.
TEST(DetrPredict, FocalTopKOverQueriesAndClasses) {
  auto o = tiny(4);
  o.loss.classification = Classification::Focal;
  auto m = std::make_shared<Detr>(o, table({1, 2, 3}));  // class 3 has no category
  m->eval();
  auto b = batch_of(2, 64, 96);
  auto preds = m->predict(b);
  torch::NoGradGuard ng;
  auto out = m->forward_tensors({b.images, b.pad_mask});
  ASSERT_EQ(out[0].sizes(), (std::vector<int64_t>{2, 4, 4}));
  auto prob = out[0].sigmoid();
  auto xyxy = torch::cat({out[1].narrow(-1, 0, 2) - out[1].narrow(-1, 2, 2) / 2,
                          out[1].narrow(-1, 0, 2) + out[1].narrow(-1, 2, 2) / 2}, -1) *
              torch::tensor({192.f, 128.f, 192.f, 128.f});
  for (int64_t i = 0; i < 2; ++i) {
    ASSERT_EQ(preds[i].scores.size(0), 12);  // min(Q * 3 reportable classes, max(Q, 100))
    EXPECT_TRUE(torch::all(preds[i].scores.slice(0, 0, 11) >= preds[i].scores.slice(0, 1, 12)).item<bool>());
    std::set<std::pair<int64_t, int64_t>> seen;  // (query, class)
    for (int64_t k = 0; k < 12; ++k) {
      const double score = preds[i].scores[k].item<double>();
      const int64_t c = preds[i].labels[k].item<int64_t>();
      ASSERT_TRUE(c >= 0 && c < 3) << c;  // class 3 never reported
      // the query whose class-c score this is, and its box
      auto q = (prob[i].select(1, c) - score).abs().argmin().item<int64_t>();
      EXPECT_NEAR(prob[i][q][c].item<double>(), score, 1e-6);
      EXPECT_TRUE(torch::allclose(preds[i].boxes[k], xyxy[i][q], 1e-4, 1e-3));
      seen.insert({q, c});
    }
    EXPECT_EQ(seen.size(), 12u);  // every (query, reportable class) pair once
  }
}

TEST(DetrTrain, FocalLossWiresTheFocalCriterion) {
  auto o = tiny();
  o.loss.classification = Classification::Focal;
  auto m = std::make_shared<Detr>(o, table({1, 2}));
  m->train();
  auto b = batch_of(2, 64, 96);
  torch::manual_seed(1);
  auto losses = m->loss(b);
  torch::manual_seed(1);
  auto out = m->forward(b.images, b.pad_mask);
  SetCriterionOptions co = o.loss;
  co.num_classes = 2;
  std::vector<SetTarget> targets = to_set_targets(b.targets);
  SetPrediction last = layer_output(out.logits[1], out.boxes[1]), first = layer_output(out.logits[0], out.boxes[0]);
  auto want = SetCriterion(co)(last, {first}, targets);
  for (const char* k : {"loss_ce", "loss_bbox", "loss_giou", "loss_ce_0"})
    EXPECT_NEAR(losses[k].item<double>(), want[k].item<double>(), 1e-6) << k;
  EXPECT_GT(losses["loss_ce"].item<double>(), 0.0);
  losses["loss_ce"].backward();
  EXPECT_GT(m->class_embed->weight.grad().abs().sum().item<double>(), 0.0);
}

// Group DETR: extra query groups only in training, each decoded on its own
// (group 0 in training equals the inference output), the loss the mean of the
// groups' set losses.
TEST(DetrTrain, GroupDetrGroupsAreIndependentAndAveraged) {
  auto o = tiny();
  o.aids.train_groups = 3;
  o.aids.learned_content = true;
  auto m = std::make_shared<Detr>(o, table({1, 2}));
  auto sd = m->named_parameters();
  ASSERT_TRUE(sd.contains("query_embed_groups.weight"));
  EXPECT_EQ(sd["query_embed_groups.weight"].sizes(), (std::vector<int64_t>{8, 32}));
  EXPECT_EQ(sd["tgt_embed_groups.weight"].sizes(), (std::vector<int64_t>{8, 32}));
  EXPECT_EQ(sd["query_embed.weight"].sizes(), (std::vector<int64_t>{4, 32}));  // the official shape
  auto b = batch_of(2, 64, 96);
  m->train();
  auto train_out = m->forward(b.images, b.pad_mask);
  ASSERT_EQ(train_out.logits.sizes(), (std::vector<int64_t>{2, 6, 4, 3}));  // [L, groups * B, Q, C + 1]
  m->eval();
  Detr::ForwardOutput eval_out;
  {
    torch::NoGradGuard ng;
    eval_out = m->forward(b.images, b.pad_mask);
  }
  ASSERT_EQ(eval_out.logits.sizes(), (std::vector<int64_t>{2, 2, 4, 3}));
  // frozen BN and no dropout: group 0 in training is the inference output
  EXPECT_TRUE(torch::allclose(train_out.logits.narrow(1, 0, 2), eval_out.logits, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(train_out.boxes.narrow(1, 0, 2), eval_out.boxes, 1e-5, 1e-5));
  // groups 1 and 2 differ from group 0 (their own queries)
  EXPECT_FALSE(torch::allclose(train_out.boxes.narrow(1, 2, 2), eval_out.boxes, 1e-3, 1e-3));

  m->train();
  auto losses = m->loss_from_outputs(train_out, b);
  SetCriterionOptions co = m->options().loss;
  auto targets = to_set_targets(b.targets);
  for (const char* k : {"loss_ce", "loss_bbox", "loss_giou", "loss_ce_0", "loss_giou_0"}) {
    double mean = 0;
    for (int64_t g = 0; g < 3; ++g) {
      auto last = layer_output(train_out.logits[1].narrow(0, 2 * g, 2), train_out.boxes[1].narrow(0, 2 * g, 2));
      auto first = layer_output(train_out.logits[0].narrow(0, 2 * g, 2), train_out.boxes[0].narrow(0, 2 * g, 2));
      mean += SetCriterion(co)(last, {first}, targets)[k].item<double>() / 3;
    }
    EXPECT_NEAR(losses[k].item<double>(), mean, 1e-5) << k;
  }
  o.aids.train_groups = 0;
  EXPECT_THROW(Detr(o, table({1, 2})), ConfigError);
}

// `seer export` writes inference_state_dict: the training-only tensors (dense
// head, extra query groups) are left out, so what remains has the plain
// model's names (here: official DETR's plus tgt_embed, used in inference).
TEST(DetrModel, ExportLeavesOutTrainingOnlyTensors) {
  auto o = tiny();
  o.aids.train_groups = 2;
  o.aids.dense_aux = true;
  o.aids.learned_content = true;
  Detr with_aids(o, table({1, 2}));
  int64_t dropped = -1;
  auto state = inference_state_dict(with_aids, &dropped);
  int64_t expected_dropped = 0;
  for (const auto& item : module_state_dict(with_aids)) {
    const auto& k = item.key();
    if (k.rfind("aux_dense.", 0) == 0 || k.rfind("query_embed_groups.", 0) == 0 || k.rfind("tgt_embed_groups.", 0) == 0)
      ++expected_dropped;
  }
  EXPECT_GT(expected_dropped, 3);
  EXPECT_EQ(dropped, expected_dropped);
  auto p = tiny();
  p.aids.learned_content = true;
  Detr plain(p, table({1, 2}));
  auto want = module_state_dict(plain);
  EXPECT_EQ(state.size(), want.size());
  for (const auto& item : want) EXPECT_TRUE(state.contains(item.key())) << item.key();
  EXPECT_TRUE(inference_state_dict(plain).size() == want.size());
}

TEST(DetrTrain, LossNamesForwardBackwardAndGradients) {
  auto o = tiny();
  auto r = test::tiny_resnet_options();
  r.norm = ResNetNorm::BatchNorm;
  r.frozen_stages = 0;
  o.backbone = resnet_backbone(r);
  auto m = std::make_shared<Detr>(o, table({1, 2}));
  m->train();
  auto losses = m->loss(batch_of(2, 64, 96));
  for (const char* k : {"loss_ce", "loss_bbox", "loss_giou", "loss_ce_0", "loss_bbox_0", "loss_giou_0",
                        "log/class_error", "log/cardinality_error", "log/cardinality_error_0"})
    EXPECT_TRUE(losses.contains(k)) << k;
  EXPECT_EQ(losses.size(), 9u);
  torch::Tensor total = torch::zeros({});
  for (const auto& kv : losses) {
    EXPECT_TRUE(std::isfinite(kv.value().item<double>())) << kv.key();
    if (kv.key().rfind("log/", 0) != 0) total = total + kv.value();
  }
  total.backward();
  for (const auto& kv : m->named_parameters()) {
    ASSERT_TRUE(kv.value().requires_grad()) << kv.key();
    ASSERT_TRUE(kv.value().grad().defined()) << "no gradient: " << kv.key();
    // The first decoder self-attention sees zero values (tgt = 0): its output
    // is out_proj(v bias), and at init (zero MHA biases) norm1 gets a zero
    // vector. No gradient reaches these at init, officially too.
    const auto& k = kv.key();
    if (k.rfind("transformer.decoder.layers.0.self_attn.", 0) == 0 ||
        k == "transformer.decoder.layers.0.norm1.weight")
      continue;
    EXPECT_GT(kv.value().grad().abs().sum().item<double>(), 0.0) << "zero gradient: " << kv.key();
  }
  // BatchNorm2d carries num_batches_tracked; FrozenBatchNorm2d does not
  EXPECT_TRUE(m->named_buffers().contains("backbone.0.body.bn1.num_batches_tracked"));
  Detr frozen(tiny(), table({1, 2}));
  EXPECT_FALSE(frozen.named_buffers().contains("backbone.0.body.bn1.num_batches_tracked"));
  EXPECT_TRUE(frozen.named_buffers().contains("backbone.0.body.bn1.running_var"));
  EXPECT_FALSE(frozen.named_parameters().contains("backbone.0.body.bn1.weight"));
}

TEST(DetrTrain, AuxLossOffHasNoSuffixedTerms) {
  auto o = tiny();
  o.aux_loss = false;
  auto m = std::make_shared<Detr>(o, table({1, 2}));
  auto losses = m->loss(batch_of(1, 64, 64));
  EXPECT_FALSE(losses.contains("loss_ce_0"));
  EXPECT_TRUE(losses.contains("loss_giou"));
}

TEST(DetrTrain, FrozenStages) {
  auto frozen_prefixes = [](const Detr& m) {
    std::set<std::string> out;
    for (const auto& kv : m.named_parameters())
      if (!kv.value().requires_grad()) {
        auto n = kv.key().substr(std::string("backbone.0.body.").size());
        out.insert(n.substr(0, n.find('.')));
      }
    return out;
  };
  auto o = tiny();
  auto r = test::tiny_resnet_options();
  r.norm = ResNetNorm::BatchNorm;
  r.frozen_stages = 2;
  o.backbone = resnet_backbone(r);
  EXPECT_EQ(frozen_prefixes(Detr(o, table({1}))), (std::set<std::string>{"bn1", "conv1", "layer1", "layer2"}));
  r.frozen_stages = 0;
  o.backbone = resnet_backbone(r);
  EXPECT_TRUE(frozen_prefixes(Detr(o, table({1}))).empty());
  r.train = false;
  o.backbone = resnet_backbone(r);
  EXPECT_EQ(frozen_prefixes(Detr(o, table({1}))),
            (std::set<std::string>{"bn1", "conv1", "layer1", "layer2", "layer3", "layer4"}));
  Detr m(o, table({1}));
  for (const auto& kv : m.named_parameters()) {
    if (kv.key().rfind("backbone.", 0) != 0) {
      EXPECT_TRUE(kv.value().requires_grad()) << kv.key();
    }
  }
}

TEST(DetrModel, ForwardTensorsAndExampleInputs) {
  auto m = std::make_shared<Detr>(tiny(), table({1, 2, 3}));
  m->eval();
  auto ex = m->example_inputs(64, 80);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[1].scalar_type(), torch::kBool);
  torch::NoGradGuard ng;
  auto out = m->forward_tensors(ex);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].sizes(), (std::vector<int64_t>{1, 4, 4}));
  EXPECT_EQ(out[1].sizes(), (std::vector<int64_t>{1, 4, 4}));
  EXPECT_EQ(m->export_output_names(), (std::vector<std::string>{"pred_logits", "pred_boxes"}));
  EXPECT_THROW(m->forward_tensors({ex[0]}), RuntimeError);
  EXPECT_THROW(m->forward_tensors({ex[0], torch::zeros({1, 3, 3}, torch::kBool)}), RuntimeError);
}

// forward_tensors traces (no data-dependent control flow): the TorchScript
// export gives the same outputs, and the padding mask stays an input.
TEST(DetrModel, TracesForExport) {
  auto m = std::make_shared<Detr>(tiny(), table({1, 2, 3}));
  m->eval();
  auto ex = m->example_inputs(64, 96);
  const std::string path = test::temp_dir("detr_trace") + "/detr.pt";
  export_torchscript(*m, [&](const std::vector<torch::Tensor>& in) { return m->forward_tensors(in); }, ex,
                     m->export_input_names(), path);
  auto traced = torch::jit::load(path);
  torch::NoGradGuard ng;
  torch::manual_seed(5);
  auto images = torch::randn({1, 3, 64, 96});
  auto mask = torch::zeros({1, 64, 96}, torch::kBool);
  mask.index_put_({0, torch::indexing::Slice(40), torch::indexing::Slice()}, true);  // padded rows
  auto want = m->forward_tensors({images, mask});
  auto got = traced.forward({images, mask}).toTuple()->elements();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_LE(test::max_abs_err(got[0].toTensor(), want[0]), 1e-5);
  EXPECT_LE(test::max_abs_err(got[1].toTensor(), want[1]), 1e-5);
}

}  // namespace

}  // namespace seer_test_test_detr_model
