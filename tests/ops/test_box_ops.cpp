// seer::box against torchvision.ops 0.14.1 (box_area, box_iou,
// generalized_box_iou, box_convert; incl. zero-area boxes) and mmyolo
// bbox_overlaps(iou_mode='ciou', bbox_format='xyxy') at
// open-mmlab/mmyolo@8c4d9dc503dc8e327bec8147e8dc97124052f693.
// Fixture: tests/data/losses/box_ops.pt (scripts/fixtures/make_loss_fixtures.py).
#include "core/error.h"
#include "losses/loss_fixture.h"
#include "ops/box_ops.h"
namespace seer_test_test_box_ops {

namespace {

using namespace seer;

TEST(BoxOps, TorchvisionParity) {
  test::LossFixture fx("box_ops.pt");
  auto a = fx["a"], b = fx["b"];
  EXPECT_PARITY(box::area(a), fx["area_a"], 1e-9, "box_area (torchvision)");
  EXPECT_PARITY(box::iou(a, b), fx["iou"], 1e-12, "box_iou (torchvision)");
  EXPECT_PARITY(box::xyxy_to_cxcywh(a), fx["cxcywh_a"], 1e-12, "box_convert xyxy->cxcywh (torchvision)");
  EXPECT_PARITY(box::cxcywh_to_xyxy(fx["cxcywh_a"]), a, 1e-12, "box_convert cxcywh->xyxy");

  auto aa = a.clone().requires_grad_(), bb = b.clone().requires_grad_();
  auto g = box::generalized_iou(aa, bb);
  EXPECT_PARITY(g, fx["giou"], 1e-12, "generalized_box_iou (torchvision)");
  (g * torch::linspace(0.5, 1.5, g.numel(), g.options()).view_as(g)).sum().backward();
  EXPECT_PARITY(aa.grad(), fx["giou_grad_a"], 1e-10, "generalized_box_iou grad a");
  EXPECT_PARITY(bb.grad(), fx["giou_grad_b"], 1e-10, "generalized_box_iou grad b");

  // Two identical zero-area boxes: 0/0 exactly as torchvision.
  auto z = torch::tensor({{3.0, 3.0, 3.0, 8.0}}, torch::kDouble);
  EXPECT_PARITY(box::iou(z, z), fx["degenerate_iou"], 0, "degenerate box_iou (NaN as torchvision)");
}

TEST(BoxOps, ElementwiseGiouIsDiagonal) {
  test::LossFixture fx("box_ops.pt");
  auto a = fx["a"].narrow(0, 0, 5), b = fx["b"];
  auto diag = box::generalized_iou(a, b).diagonal();
  EXPECT_PARITY(box::generalized_iou_elementwise(a, b), diag, 1e-12, "elementwise GIoU vs diag(pairwise)");
  // Broadcasting [N,1,4] x [1,M,4] gives the pairwise matrix.
  EXPECT_PARITY(box::generalized_iou_elementwise(a.unsqueeze(1), b.unsqueeze(0)), box::generalized_iou(a, b), 1e-12,
                "elementwise GIoU broadcast");
}

TEST(BoxOps, CompleteIouMmyoloParity) {
  test::LossFixture fx("box_ops.pt");
  auto p = fx["ciou_pred"].clone().requires_grad_(), t = fx["ciou_target"].clone().requires_grad_();
  auto c = box::complete_iou(p, t);
  EXPECT_PARITY(c, fx["ciou"], 1e-10, "CIoU (mmyolo bbox_overlaps)");
  (c * torch::linspace(-1, 2, c.numel(), c.options())).sum().backward();
  EXPECT_PARITY(p.grad(), fx["ciou_grad_pred"], 1e-9, "CIoU grad pred");
  EXPECT_PARITY(t.grad(), fx["ciou_grad_target"], 1e-9, "CIoU grad target");
}

TEST(BoxOps, CheckXyxy) {
  box::check_xyxy(torch::tensor({{0.0, 0.0, 0.0, 0.0}, {1.0, 2.0, 3.0, 4.0}}), "ok");
  box::check_xyxy(torch::zeros({0, 4}), "empty");
  EXPECT_ONE_LINE_ERROR(box::check_xyxy(torch::tensor({{5.0, 0.0, 4.0, 1.0}}), "gt"), "x2 < x1");
  EXPECT_ONE_LINE_ERROR(box::check_xyxy(torch::tensor({{0.0, 0.0, 1.0}}), "gt"), "[..., 4]");
  EXPECT_ONE_LINE_ERROR(box::check_xyxy(torch::tensor({{0.0, std::nan(""), 1.0, 1.0}}), "gt"), "NaN");
}

}  // namespace

}  // namespace seer_test_test_box_ops
