// DETR-family matching and SetCriterion against the official code:
//  - facebookresearch/detr@29901c51 models/matcher.py HungarianMatcher,
//    models/detr.py SetCriterion (labels, boxes, cardinality, aux), masks
//    (models/segmentation.py dice_loss / sigmoid_focal_loss);
//  - fundamentalvision/Deformable-DETR@11169a60 focal SetCriterion + matcher;
//  - longzw1997/Open-GroundingDino@d248268a token matcher and
//    token_sigmoid_binary_focal_loss.
// Fixtures: tests/data/losses/{detr,deformable,grounding}.pt.
#include "core/error.h"
#include "losses/set_target.h"
#include "losses/focal_loss.h"
#include "losses/hungarian_matcher.h"
#include "losses/loss_fixture.h"
#include "losses/set_criterion.h"
namespace seer_test_test_detr {

namespace {

using namespace seer;
using test::LossFixture;

std::vector<SetTarget> read_targets(const LossFixture& fx, const std::string& prefix) {
  std::vector<SetTarget> out;
  for (int j = 0; fx.has(prefix + std::to_string(j) + "/labels"); ++j) {
    SetTarget t;
    const std::string p = prefix + std::to_string(j) + "/";
    t.labels = fx[p + "labels"];
    t.boxes = fx[p + "boxes"];
    if (fx.has(p + "masks")) t.masks = fx[p + "masks"];
    if (fx.has(p + "positive_map")) t.positive_map = fx[p + "positive_map"];
    out.push_back(t);
  }
  return out;
}

// Runs the criterion on the fixture's layers and checks every loss, log value
// and input gradient against the reference.
void check_criterion(const LossFixture& fx, const std::string& pre, const SetCriterion& crit, const char* ref) {
  auto targets = read_targets(fx, pre + "target");
  std::vector<SetPrediction> layers;
  for (int i = 0; fx.has(pre + "in" + std::to_string(i) + "/pred_logits"); ++i) {
    const std::string p = pre + "in" + std::to_string(i) + "/";
    SetPrediction o;
    o.logits = fx[p + "pred_logits"].clone().requires_grad_();
    o.boxes = fx[p + "pred_boxes"].clone().requires_grad_();
    if (fx.has(p + "pred_masks")) o.masks = fx[p + "pred_masks"].clone().requires_grad_();
    layers.push_back(o);
  }
  ASSERT_FALSE(layers.empty());
  std::vector<SetPrediction> aux(layers.begin() + 1, layers.end());
  LossDict logs;
  auto losses = crit(layers[0], aux, targets, &logs);

  size_t n_ref = 0;
  for (const auto& kv : fx.all()) {
    if (kv.first.rfind(pre + "loss/", 0) != 0) continue;
    ++n_ref;
    const std::string name = kv.first.substr(pre.size() + 5);
    const bool is_log = name.find("error") != std::string::npos;
    const LossDict& src = is_log ? logs : losses;
    ASSERT_TRUE(src.contains(name)) << "missing " << name;
    EXPECT_PARITY(src[name], kv.second, 1e-5, std::string(ref) + " " + pre + name);
  }
  EXPECT_EQ(n_ref, losses.size() + logs.size()) << "extra or missing entries";

  torch::Tensor total = torch::zeros({}, torch::kDouble);
  for (const auto& kv : losses) total = total + kv.value();
  total.backward();
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = pre + "grad" + std::to_string(i) + "/";
    EXPECT_PARITY(layers[i].logits.grad(), fx[p + "pred_logits"], 1e-5, std::string(ref) + " " + p + "pred_logits");
    EXPECT_PARITY(layers[i].boxes.grad(), fx[p + "pred_boxes"], 1e-5, std::string(ref) + " " + p + "pred_boxes");
    if (layers[i].masks.defined())
      EXPECT_PARITY(layers[i].masks.grad(), fx[p + "pred_masks"], 1e-5, std::string(ref) + " " + p + "pred_masks");
  }
}

TEST(DetrMatcher, CostAndIndicesMatchOfficial) {
  // Reference: facebookresearch/detr@29901c51 models/matcher.py (costs 1, 5, 2).
  LossFixture fx("detr.pt");
  auto targets = read_targets(fx, "match/target");
  ASSERT_EQ(targets.size(), 3u);
  auto C = hungarian_cost(fx["match/logits"], fx["match/boxes"], targets);
  int64_t offset = 0;
  for (size_t j = 0; j < targets.size(); ++j) {
    const int64_t n = targets[j].labels.size(0);
    EXPECT_PARITY(C[j].narrow(1, offset, n), fx["match/cost" + std::to_string(j)], 1e-10,
                  "DETR matcher cost block " + std::to_string(j));
    offset += n;
  }
  auto m = hungarian_match(fx["match/logits"], fx["match/boxes"], targets);
  for (size_t j = 0; j < targets.size(); ++j) {
    EXPECT_TRUE(torch::equal(m[j].pred, fx["match/pred" + std::to_string(j)])) << "image " << j;
    EXPECT_TRUE(torch::equal(m[j].target, fx["match/tgt" + std::to_string(j)])) << "image " << j;
  }
  EXPECT_EQ(m[1].pred.numel(), 0);  // the image without targets
}

TEST(DetrCriterion, SoftmaxCeWithAuxMatchesOfficial) {
  // Reference: facebookresearch/detr@29901c51 models/detr.py SetCriterion.
  LossFixture fx("detr.pt");
  SetCriterionOptions o;
  o.num_classes = 8;
  check_criterion(fx, "ce/", SetCriterion(o), test::kDetrCommit);
}

TEST(DetrCriterion, AllEmptyTargets) {
  LossFixture fx("detr.pt");
  SetCriterionOptions o;
  o.num_classes = 8;
  check_criterion(fx, "empty/", SetCriterion(o), test::kDetrCommit);
}

TEST(DetrCriterion, MasksMatchOfficial) {
  // Reference: facebookresearch/detr@29901c51 SetCriterion.loss_masks (DETRsegm).
  LossFixture fx("detr.pt");
  SetCriterionOptions o;
  o.num_classes = 8;
  o.masks = true;
  check_criterion(fx, "masks/", SetCriterion(o), test::kDetrCommit);
}

TEST(DetrCriterion, FocalVariantMatchesDeformableDetr) {
  // Reference: fundamentalvision/Deformable-DETR@11169a60 SetCriterion + focal matcher (2, 5, 2).
  LossFixture fx("deformable.pt");
  SetCriterionOptions o;
  o.num_classes = 7;
  o.classification = Classification::Focal;
  o.weights["loss_ce"] = 2.0;
  o.cost_class = 2.0;
  check_criterion(fx, "focal/", SetCriterion(o), test::kDeformableCommit);
  auto targets = read_targets(fx, "focal/target");
  auto m = hungarian_match(fx["focal/in0/pred_logits"], fx["focal/in0/pred_boxes"], targets, matcher_options(o));
  for (size_t j = 0; j < targets.size(); ++j) {
    EXPECT_TRUE(torch::equal(m[j].pred, fx["focal/match_pred" + std::to_string(j)]));
    EXPECT_TRUE(torch::equal(m[j].target, fx["focal/match_tgt" + std::to_string(j)]));
  }
}

TEST(DetrLossTerms, DiceAndFocalMatchOfficial) {
  // Reference: facebookresearch/detr@29901c51 models/segmentation.py; torchvision.ops.sigmoid_focal_loss.
  LossFixture fx("detr.pt");
  auto x = fx["dice/x"].clone().requires_grad_();
  auto d = dice_loss(x, fx["dice/t"], 4.0);
  d.backward();
  EXPECT_PARITY(d, fx["dice/loss"], 1e-10, "DETR dice_loss");
  EXPECT_PARITY(x.grad(), fx["dice/grad"], 1e-10, "DETR dice_loss grad");

  auto x2 = fx["dice/x"].clone().requires_grad_();
  auto f = sigmoid_focal_loss(x2, fx["dice/t"], 0.25, 2.0).mean(1).sum() / 4.0;
  f.backward();
  EXPECT_PARITY(f, fx["detr_focal/loss"], 1e-10, "DETR sigmoid_focal_loss");
  EXPECT_PARITY(x2.grad(), fx["detr_focal/grad"], 1e-10, "DETR sigmoid_focal_loss grad");

  struct Case {
    const char* name;
    double alpha, gamma;
    Reduction red;
  };
  for (auto c : {Case{"none", 0.25, 2.0, Reduction::None}, Case{"mean", 0.25, 2.0, Reduction::Mean},
                 Case{"sum_noalpha", -1.0, 1.5, Reduction::Sum}}) {
    auto xx = fx["tv_focal/x"].clone().requires_grad_();
    auto l = sigmoid_focal_loss(xx, fx["tv_focal/t"], c.alpha, c.gamma, c.red);
    (l * torch::linspace(0.1, 1, l.numel(), l.options()).view_as(l)).sum().backward();
    const std::string p = std::string("tv_focal/") + c.name;
    EXPECT_PARITY(l, fx[p + "/loss"], 1e-10, "torchvision sigmoid_focal_loss " + std::string(c.name));
    EXPECT_PARITY(xx.grad(), fx[p + "/grad"], 1e-10, "torchvision sigmoid_focal_loss grad " + std::string(c.name));
  }
}

TEST(Grounding, TokenMatcherAndFocalMatchOpenGroundingDino) {
  // Reference: longzw1997/Open-GroundingDino@d248268a matcher.py + token_sigmoid_binary_focal_loss.
  LossFixture fx("grounding.pt");
  auto targets = read_targets(fx, "target");
  HungarianMatcherOptions mo;
  mo.class_cost = ClassCost::Token;
  auto logits = fx["logits"];
  auto m = hungarian_match(logits, fx["boxes"], targets, mo);
  const int64_t B = logits.size(0), Q = logits.size(1), T = logits.size(2);
  auto one_hot = torch::zeros({B, Q, T}, torch::kLong);
  int64_t num_pos = 0;
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_TRUE(torch::equal(m[b].pred, fx["pred" + std::to_string(b)])) << b;
    EXPECT_TRUE(torch::equal(m[b].target, fx["tgt" + std::to_string(b)])) << b;
    one_hot[b].index_put_({m[b].pred}, targets[b].positive_map.index_select(0, m[b].target).to(torch::kLong));
    num_pos += m[b].pred.numel();
  }
  EXPECT_TRUE(torch::equal(one_hot, fx["one_hot"]));
  auto x = logits.clone().requires_grad_();
  auto l = token_sigmoid_focal_loss(x, one_hot, fx["text_mask"], static_cast<double>(num_pos));
  l.backward();
  // The reference casts its int64 one-hot targets to float32 (`.float()`), which
  // limits its own precision to ~1e-8 on double logits.
  EXPECT_PARITY(l, fx["loss"], 1e-7, "token_sigmoid_binary_focal_loss (Open-GroundingDino)");
  EXPECT_PARITY(x.grad(), fx["grad"], 1e-7, "token_sigmoid_binary_focal_loss grad");

  // Padded tokens may hold -inf logits (Grounding DINO pads with -inf).
  auto xi = logits.clone().masked_fill(fx["text_mask"].logical_not().unsqueeze(1), -INFINITY);
  EXPECT_PARITY(token_sigmoid_focal_loss(xi, one_hot, fx["text_mask"], num_pos), fx["loss"], 1e-7,
                "token focal with -inf padding");
}

TEST(Grounding, CriterionTokenModeUsesOpenGroundingDinoLoss) {
  // Reference: longzw1997/Open-GroundingDino@d248268a (cls 2.0 x token focal; L1 5, GIoU 2).
  LossFixture fx("grounding.pt");
  auto targets = read_targets(fx, "target");
  SetCriterionOptions o;
  o.classification = Classification::Token;
  o.weights["loss_ce"] = 2.0;
  SetCriterion crit(o);
  SetPrediction out;
  out.logits = fx["logits"].clone().requires_grad_();
  out.boxes = fx["boxes"];
  out.text_mask = fx["text_mask"];
  LossDict logs;
  auto l = crit(out, {out}, targets, &logs);
  EXPECT_PARITY(l["loss_ce"], 2.0 * fx["loss"], 1e-7, "grounding criterion loss_ce (Open-GroundingDino)");
  EXPECT_PARITY(l["loss_ce_0"], 2.0 * fx["loss"], 1e-7, "grounding criterion loss_ce_0");
  EXPECT_TRUE(l.contains("loss_bbox") && l.contains("loss_giou"));
  EXPECT_EQ(logs.size(), 0u);
  l["loss_ce"].backward();
  EXPECT_PARITY(out.logits.grad(), 2.0 * fx["grad"], 1e-7, "grounding criterion grad");
}

// ---------------------------------------------------------------- targets and bad input

TEST(SetTarget, ToSetTargetDropsCrowd) {
  Target t;
  t.size = {100, 200};
  t.boxes = torch::tensor({{0.0, 0.0, 100.0, 50.0}, {50.0, 50.0, 150.0, 100.0}, {10.0, 10.0, 20.0, 20.0}});
  t.labels = torch::tensor({3, 4, 5}, torch::kLong);
  t.iscrowd = torch::tensor({0, 1, 0}, torch::kUInt8);
  auto d = to_set_target(t);
  ASSERT_EQ(d.labels.size(0), 2);
  EXPECT_TRUE(torch::equal(d.labels, torch::tensor({3, 5}, torch::kLong)));
  EXPECT_TRUE(torch::allclose(d.boxes[0], torch::tensor({0.25f, 0.25f, 0.5f, 0.5f})));
  EXPECT_TRUE(torch::allclose(d.boxes[1], torch::tensor({0.075f, 0.15f, 0.05f, 0.1f})));

  Target e;
  e.size = {10, 10};
  auto de = to_set_target(e);
  EXPECT_EQ(de.boxes.size(0), 0);
  EXPECT_EQ(de.labels.size(0), 0);

  t.boxes[1][2] = 10.0;  // x2 < x1
  EXPECT_ONE_LINE_ERROR(to_set_target(t), "x2 < x1");
  Target nosize = t;
  nosize.size = {0, 0};
  EXPECT_ONE_LINE_ERROR(to_set_target(nosize), "Target::size");
}

TEST(DetrCriterion, EmptyTargetsGiveZeroBoxLossesAndNoObject) {
  SetCriterionOptions o;
  o.num_classes = 4;
  SetCriterion crit(o);
  SetPrediction out;
  out.logits = torch::randn({2, 5, 5}).requires_grad_();
  out.boxes = torch::rand({2, 5, 4}).requires_grad_();
  std::vector<SetTarget> targets(2);
  for (auto& t : targets) {
    t.labels = torch::zeros({0}, torch::kLong);
    t.boxes = torch::zeros({0, 4});
  }
  auto l = crit(out, {out}, targets);
  EXPECT_EQ(l["loss_bbox"].item<double>(), 0.0);
  EXPECT_EQ(l["loss_giou"].item<double>(), 0.0);
  EXPECT_EQ(l["loss_bbox_0"].item<double>(), 0.0);
  // All queries are no-object: CE = mean of -log p(no-object).
  auto want = -out.logits.log_softmax(-1).select(-1, 4).mean();
  EXPECT_NEAR(l["loss_ce"].item<double>(), want.item<double>(), 1e-6);
  torch::Tensor total = l["loss_ce"] + l["loss_bbox"] + l["loss_giou"];
  total.backward();
  EXPECT_TRUE(torch::isfinite(out.logits.grad()).all().item<bool>());
}

TEST(DetrCriterion, BadInputIsOneLineError) {
  SetCriterionOptions o;
  o.num_classes = 4;
  SetCriterion crit(o);
  SetPrediction out;
  out.logits = torch::randn({1, 5, 5});
  out.boxes = torch::rand({1, 5, 4});
  SetTarget t;
  t.labels = torch::tensor({1, 2}, torch::kLong);
  t.boxes = torch::tensor({{0.5, 0.5, 0.2, 0.2}, {0.3, 0.3, 0.1, 0.1}});
  std::vector<SetTarget> ts{t};
  crit(out, {}, ts);  // fine

  auto bad = ts;
  bad[0].labels = torch::tensor({1, 4}, torch::kLong);  // 4 == num_classes is no-object
  EXPECT_ONE_LINE_ERROR(crit(out, {}, bad), "out of range");
  bad = ts;
  bad[0].boxes = torch::tensor({{0.5, 0.5, -0.2, 0.2}, {0.3, 0.3, 0.1, 0.1}});
  EXPECT_ONE_LINE_ERROR(crit(out, {}, bad), "negative width");
  bad = ts;
  bad[0].boxes = torch::rand({3, 4});
  EXPECT_ONE_LINE_ERROR(crit(out, {}, bad), "must be [N, 4] and [N]");
  EXPECT_ONE_LINE_ERROR(crit(out, {}, {}), "targets for a batch of 1");

  // The matcher alone names the offending image.
  bad = ts;
  bad[0].labels = torch::tensor({1, 9}, torch::kLong);
  EXPECT_ONE_LINE_ERROR(hungarian_match(out.logits, out.boxes, bad), "hungarian_match(target 0): label 9 out of range");
  bad = ts;
  bad[0].boxes = torch::tensor({{0.5, 0.5, 0.2, 0.2}, {0.3, std::nan(""), 0.1, 0.1}});
  EXPECT_ONE_LINE_ERROR(hungarian_match(out.logits, out.boxes, bad), "NaN");
  HungarianMatcherOptions tok;
  tok.class_cost = ClassCost::Token;
  EXPECT_ONE_LINE_ERROR(hungarian_match(out.logits, out.boxes, ts, tok), "positive_map");

  SetPrediction nan = out;
  nan.logits = out.logits.clone();
  nan.logits[0][2][1] = NAN;
  EXPECT_ONE_LINE_ERROR(crit(nan, {}, ts), "NaN");
  SetPrediction wrong = out;
  wrong.logits = torch::randn({1, 5, 7});
  EXPECT_ONE_LINE_ERROR(crit(wrong, {}, ts), "classes");
  wrong = out;
  wrong.boxes = torch::rand({1, 4, 4});
  EXPECT_ONE_LINE_ERROR(crit(wrong, {}, ts), "do not match logits");
}

}  // namespace

namespace {

using namespace seer;

TEST(DetrCriterion, WeightsByNameAndNoSilentDefault) {
  SetCriterionOptions o;
  o.num_classes = 4;
  o.weights["loss_cls"] = 2.0;  // misspelt
  EXPECT_ONE_LINE_ERROR(SetCriterion{o}, "unknown loss weight 'loss_cls'");
  o.weights.erase("loss_cls");
  o.weights.erase("loss_giou");  // a term without a weight is an error, not weight 1
  SetCriterion crit(o);
  SetPrediction out;
  out.logits = torch::randn({1, 5, 5});
  out.boxes = torch::rand({1, 5, 4}) * 0.5 + 0.1;
  SetTarget t;
  t.labels = torch::tensor({1}, torch::kLong);
  t.boxes = torch::tensor({{0.5, 0.5, 0.2, 0.2}});
  EXPECT_ONE_LINE_ERROR(crit(out, {}, {t}), "no weight for the term 'loss_giou'");

  // The weights scale exactly their terms.
  SetCriterionOptions a;
  a.num_classes = 4;
  SetCriterionOptions b = a;
  b.weights["loss_bbox"] = 1.0;
  auto la = SetCriterion(a)(out, {out}, {t}), lb = SetCriterion(b)(out, {out}, {t});
  EXPECT_NEAR(la["loss_bbox"].item<double>(), 5.0 * lb["loss_bbox"].item<double>(), 1e-6);  // float32
  EXPECT_NEAR(la["loss_bbox_0"].item<double>(), 5.0 * lb["loss_bbox_0"].item<double>(), 1e-6);
  EXPECT_NEAR(la["loss_ce"].item<double>(), lb["loss_ce"].item<double>(), 1e-12);
}

TEST(DetrCriterion, TermsAreAddableForFurtherOutputs) {
  // An extra output (e.g. two-stage encoder proposals) is matched and weighted
  // with the criterion's own functions under its suffix.
  SetCriterionOptions o;
  o.num_classes = 4;
  SetCriterion crit(o);
  SetPrediction enc;
  enc.logits = torch::randn({1, 6, 5});
  enc.boxes = torch::rand({1, 6, 4}) * 0.5 + 0.1;
  SetTarget t;
  t.labels = torch::tensor({2}, torch::kLong);
  t.boxes = torch::tensor({{0.4, 0.4, 0.2, 0.3}});
  crit.check_inputs({&enc}, {t});
  auto m = crit.match(enc, {t});
  auto terms = crit.weighted(crit.terms(enc, {t}, m, 1.0, false, nullptr, ""), "_enc");
  EXPECT_EQ(terms.size(), 3u);
  EXPECT_TRUE(terms.contains("loss_ce_enc") && terms.contains("loss_bbox_enc") && terms.contains("loss_giou_enc"));
  auto same = crit(enc, {}, {t});
  EXPECT_NEAR(terms["loss_bbox_enc"].item<double>(), same["loss_bbox"].item<double>(), 1e-12);
}

TEST(HungarianMatcher, ChecksEveryLayerInOneCallAndNamesTheProblem) {
  auto logits = torch::randn({2, 5, 4}), boxes = torch::rand({2, 5, 4});
  check_match_predictions({logits, logits}, {boxes, boxes}, 2);  // fine
  auto bad = logits.clone();
  bad[1][3][2] = NAN;
  EXPECT_ONE_LINE_ERROR(check_match_predictions({logits, bad}, {boxes, boxes}, 2), "logits contains NaN");
  auto neg = boxes.clone();
  neg[0][0][2] = -0.1;
  EXPECT_ONE_LINE_ERROR(check_match_predictions({logits, logits}, {boxes, neg}, 2), "negative width");
  EXPECT_ONE_LINE_ERROR(check_match_predictions({logits}, {boxes}, 3), "3 targets for a batch of 2");
}

}  // namespace

}  // namespace seer_test_test_detr
