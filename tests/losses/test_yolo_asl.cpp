// Loss terms against their references:
//  - Alibaba-MIIL/ASL@8c9e0bd8 src/loss_functions/losses.py: AsymmetricLoss, ASLSingleLabel;
//  - open-mmlab/mmyolo@8c4d9dc5: BatchTaskAlignedAssigner (topk 10, alpha .5, beta 6,
//    eps 1e-9, CIoU), IoULoss(ciou, xyxy), YOLOv8Head.loss_by_feat composition;
//  - open-mmlab/mmdetection@030b5682 gfocal_loss.py distribution_focal_loss.
// Fixtures: tests/data/losses/{asl,yolo}.pt.
#include "core/error.h"
#include "losses/asl.h"
#include "losses/loss_fixture.h"
#include "losses/task_aligned_assigner.h"
#include "losses/yolo_losses.h"
namespace seer_test_test_yolo_asl {

namespace {

using namespace seer;
using test::LossFixture;

TEST(Asl, MultiLabelMatchesOfficial) {
  // Reference: Alibaba-MIIL/ASL@8c9e0bd8 AsymmetricLoss.
  LossFixture fx("asl.pt");
  struct Case {
    const char* name;
    AsymmetricLossOptions o;
  };
  std::vector<Case> cases(5);
  cases[0].name = "default";
  cases[1].name = "ram";
  cases[1].o.gamma_neg = 7;
  cases[1].o.gamma_pos = 0;
  cases[2].name = "grad";
  cases[2].o.disable_torch_grad_focal_loss = false;
  cases[3].name = "noclip";
  cases[3].o.gamma_neg = 2;
  cases[3].o.clip = 0;
  cases[4].name = "nofocus";
  cases[4].o.gamma_neg = 0;
  cases[4].o.gamma_pos = 0;
  for (const auto& c : cases) {
    auto x = fx["x"].clone().requires_grad_();
    auto l = asymmetric_loss(x, fx["y"], c.o);
    l.backward();
    EXPECT_PARITY(l, fx[std::string(c.name) + "/loss"], 1e-9, std::string("ASL ") + c.name);
    EXPECT_PARITY(x.grad(), fx[std::string(c.name) + "/grad"], 1e-9, std::string("ASL grad ") + c.name);
  }
}

TEST(Asl, SingleLabelMatchesOfficial) {
  // Reference: Alibaba-MIIL/ASL@8c9e0bd8 ASLSingleLabel.
  LossFixture fx("asl.pt");
  AsymmetricLossSingleLabelOptions a, b;
  b.gamma_pos = 1;
  b.gamma_neg = 2;
  b.eps = 0;
  for (auto [name, o] : {std::pair{"single", a}, std::pair{"single_g", b}}) {
    auto x = fx["x"].clone().requires_grad_();
    auto l = asymmetric_loss_single_label(x, fx["single/target"], o);
    l.backward();
    EXPECT_PARITY(l, fx[std::string(name) + "/loss"], 1e-9, std::string("ASLSingleLabel ") + name);
    EXPECT_PARITY(x.grad(), fx[std::string(name) + "/grad"], 1e-9, std::string("ASLSingleLabel grad ") + name);
  }
}

TEST(Asl, BadInputIsOneLineError) {
  EXPECT_ONE_LINE_ERROR(asymmetric_loss(torch::randn({2, 3}), torch::zeros({2, 4})), "same shape");
  auto x = torch::randn({2, 3});
  x[1][1] = NAN;
  EXPECT_ONE_LINE_ERROR(asymmetric_loss(x, torch::zeros({2, 3})), "NaN");
  EXPECT_ONE_LINE_ERROR(asymmetric_loss_single_label(torch::randn({2, 3}), torch::tensor({0, 3}, torch::kLong)),
                        "out of range");
}

// ---------------------------------------------------------------- YOLOv8

TEST(YoloTerms, CiouLossAndDflMatchReference) {
  LossFixture fx("yolo.pt");
  // mmyolo IoULoss(iou_mode='ciou', bbox_format='xyxy', reduction='none').
  auto p = fx["ciou_loss/pred"].clone().requires_grad_();
  auto l = ciou_loss(p, fx["ciou_loss/target"]);
  (l * torch::linspace(0.5, 1.5, l.numel(), l.options())).sum().backward();
  EXPECT_PARITY(l, fx["ciou_loss/loss"], 1e-10, "CIoU loss (mmyolo IoULoss)");
  EXPECT_PARITY(p.grad(), fx["ciou_loss/grad"], 1e-10, "CIoU loss grad");

  // mmdet distribution_focal_loss, reg_max 16.
  auto x = fx["dfl/pred"].clone().requires_grad_();
  auto d = distribution_focal_loss(x, fx["dfl/target"]);
  (d * torch::linspace(0.5, 1.5, d.numel(), d.options())).sum().backward();
  EXPECT_PARITY(d, fx["dfl/loss"], 1e-10, "DFL (mmdet)");
  EXPECT_PARITY(x.grad(), fx["dfl/grad"], 1e-10, "DFL grad");
}

void check_assignment(const LossFixture& fx, const std::string& pre, const torch::Tensor& gt_boxes) {
  TaskAlignedAssignerOptions o;
  o.num_classes = fx["cls"].size(2);
  auto r = task_aligned_assign(fx["tal/pred_boxes"], fx["cls"].sigmoid(), fx["priors"], fx["gt_labels"], gt_boxes,
                               fx["gt_valid"], o);
  EXPECT_TRUE(torch::equal(r.fg_mask, fx[pre + "fg_mask_pre_prior"])) << pre;
  auto fg = r.fg_mask;
  // Labels and boxes only mean something on foreground priors, but mmyolo
  // fills the background too (with gt 0's); we match it everywhere.
  EXPECT_TRUE(torch::equal(r.labels, fx[pre + "assigned_labels"].to(torch::kLong))) << pre;
  EXPECT_PARITY(r.boxes, fx[pre + "assigned_bboxes"], 1e-12, "TAL assigned boxes " + pre);
  EXPECT_PARITY(r.scores, fx[pre + "assigned_scores"], 1e-9, "TAL assigned scores " + pre);
  std::cout << "[info] " << pre << " foreground priors: " << fg.sum().item<int64_t>() << std::endl;
}

TEST(YoloTal, MatchesMmyoloAssigner) {
  // Reference: open-mmlab/mmyolo@8c4d9dc5 BatchTaskAlignedAssigner(topk 10, alpha .5, beta 6, eps 1e-9, CIoU).
  LossFixture fx("yolo.pt");
  check_assignment(fx, "tal/", fx["gt_boxes"]);
  check_assignment(fx, "tal2/", fx["tal2/gt_boxes"]);
}

TEST(YoloLoss, MatchesMmyoloLossByFeat) {
  // Reference: open-mmlab/mmyolo@8c4d9dc5 YOLOv8Head.loss_by_feat (cls 0.5, CIoU 7.5, DFL 1.5/4, x num_imgs).
  LossFixture fx("yolo.pt");
  YoloV8LossOptions o;
  o.assigner.num_classes = fx["cls"].size(2);
  auto cls = fx["cls"].clone().requires_grad_();
  auto dist = fx["dist"].clone().requires_grad_();
  auto l = yolov8_loss(cls, dist, fx["priors"], fx["gt_labels"], fx["gt_boxes"], fx["gt_valid"], o);
  for (const char* k : {"loss_cls", "loss_bbox", "loss_dfl"})
    EXPECT_PARITY(l[k], fx[std::string("v8/") + k], 1e-5, std::string("YOLOv8 ") + k);
  (l["loss_cls"] + l["loss_bbox"] + l["loss_dfl"]).backward();
  EXPECT_PARITY(cls.grad(), fx["v8/grad_cls"], 1e-5, "YOLOv8 grad cls");
  EXPECT_PARITY(dist.grad(), fx["v8/grad_dist"], 1e-5, "YOLOv8 grad dist");
}

TEST(YoloLoss, NoTargetsGiveZeroBoxLosses) {
  auto priors = torch::tensor({{4.0, 4.0, 8.0, 8.0}, {12.0, 4.0, 8.0, 8.0}});
  auto cls = torch::randn({1, 2, 3}).requires_grad_();
  auto dist = torch::randn({1, 2, 64}).requires_grad_();
  YoloV8LossOptions o;
  o.assigner.num_classes = 3;
  auto l = yolov8_loss(cls, dist, priors, torch::zeros({1, 0}, torch::kLong), torch::zeros({1, 0, 4}),
                       torch::zeros({1, 0}), o);
  EXPECT_EQ(l["loss_bbox"].item<double>(), 0.0);
  EXPECT_EQ(l["loss_dfl"].item<double>(), 0.0);
  // All-background: BCE against zeros, / 1.
  auto want = 0.5 * torch::binary_cross_entropy_with_logits(cls, torch::zeros_like(cls), {}, {}, at::Reduction::Sum);
  EXPECT_NEAR(l["loss_cls"].item<double>(), want.item<double>(), 1e-5);
  (l["loss_cls"] + l["loss_bbox"] + l["loss_dfl"]).backward();
  EXPECT_TRUE(torch::isfinite(dist.grad()).all().item<bool>());
}

TEST(YoloLoss, PadTargetsDropsCrowd) {
  std::vector<Target> ts(2);
  ts[0].boxes = torch::tensor({{0.0, 0.0, 4.0, 4.0}, {1.0, 1.0, 2.0, 2.0}});
  ts[0].labels = torch::tensor({2, 1}, torch::kLong);
  ts[0].iscrowd = torch::tensor({1, 0}, torch::kUInt8);
  auto [labels, boxes, valid] = pad_targets(ts);
  EXPECT_EQ(labels.sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(labels[0][0].item<int64_t>(), 1);
  EXPECT_EQ(valid.sum().item<double>(), 1.0);
}

TEST(YoloLoss, BadInputIsOneLineError) {
  LossFixture fx("yolo.pt");
  TaskAlignedAssignerOptions o;
  o.num_classes = fx["cls"].size(2);
  auto labels = fx["gt_labels"].clone();
  labels[0][0] = o.num_classes;
  EXPECT_ONE_LINE_ERROR(task_aligned_assign(fx["tal/pred_boxes"], fx["cls"].sigmoid(), fx["priors"], labels,
                                            fx["gt_boxes"], fx["gt_valid"], o),
                        "out of range");
  auto boxes = fx["gt_boxes"].clone();
  boxes[0][0][2] = boxes[0][0][0] - 1;
  EXPECT_ONE_LINE_ERROR(task_aligned_assign(fx["tal/pred_boxes"], fx["cls"].sigmoid(), fx["priors"],
                                            fx["gt_labels"], boxes, fx["gt_valid"], o),
                        "x2 < x1");
  EXPECT_ONE_LINE_ERROR(task_aligned_assign(fx["tal/pred_boxes"], fx["cls"].sigmoid().narrow(2, 0, 2), fx["priors"],
                                            fx["gt_labels"], fx["gt_boxes"], fx["gt_valid"], o),
                        "inconsistent shapes");
  auto scores = fx["cls"].sigmoid().clone();
  scores[1][3][0] = NAN;
  EXPECT_ONE_LINE_ERROR(task_aligned_assign(fx["tal/pred_boxes"], scores, fx["priors"], fx["gt_labels"],
                                            fx["gt_boxes"], fx["gt_valid"], o),
                        "NaN");
  EXPECT_ONE_LINE_ERROR(distribution_focal_loss(torch::randn({2, 16}), torch::tensor({3.0, 15.0})), "[0, 15)");
  EXPECT_ONE_LINE_ERROR(ciou_loss(torch::rand({3, 4}), torch::rand({2, 4})), "same shape");
  EXPECT_ONE_LINE_ERROR(soft_bce_with_logits(torch::rand({3, 4}), torch::rand({3, 5})), "same shape");
}

}  // namespace

}  // namespace seer_test_test_yolo_asl
