#include "ops/nms.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace seer {

namespace {

void check_inputs(const torch::Tensor& boxes, const torch::Tensor& scores, const char* fn) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4)
    throw RuntimeError(std::string(fn) + ": boxes must be [N, 4]");
  if (!scores.defined() || scores.dim() != 1 || scores.size(0) != boxes.size(0))
    throw RuntimeError(std::string(fn) + ": scores must be [N] with N = " + std::to_string(boxes.size(0)));
}

}  // namespace

torch::Tensor nms(const torch::Tensor& boxes_in, const torch::Tensor& scores_in, double iou_threshold) {
  check_inputs(boxes_in, scores_in, "nms");
  const int64_t n = boxes_in.size(0);
  auto lopts = torch::TensorOptions().dtype(torch::kLong);
  if (n == 0) return torch::zeros({0}, lopts.device(boxes_in.device()));
  auto boxes = boxes_in.detach().to(torch::kCPU, torch::kDouble).contiguous();
  auto scores = scores_in.detach().to(torch::kCPU, torch::kDouble);
  auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true)).contiguous();
  const double* b = boxes.data_ptr<double>();
  const int64_t* ord = order.data_ptr<int64_t>();
  std::vector<double> area(n);
  for (int64_t i = 0; i < n; ++i) area[i] = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
  std::vector<char> removed(n, 0);
  std::vector<int64_t> keep;
  for (int64_t a = 0; a < n; ++a) {
    const int64_t i = ord[a];
    if (removed[i]) continue;
    keep.push_back(i);
    for (int64_t c = a + 1; c < n; ++c) {
      const int64_t j = ord[c];
      if (removed[j]) continue;
      const double w = std::max(0.0, std::min(b[4 * i + 2], b[4 * j + 2]) - std::max(b[4 * i], b[4 * j]));
      const double h = std::max(0.0, std::min(b[4 * i + 3], b[4 * j + 3]) - std::max(b[4 * i + 1], b[4 * j + 1]));
      const double inter = w * h;
      const double iou = inter / (area[i] + area[j] - inter);
      if (iou > iou_threshold) removed[j] = 1;
    }
  }
  return torch::tensor(keep, lopts).to(boxes_in.device());
}

torch::Tensor batched_nms(const torch::Tensor& boxes, const torch::Tensor& scores, const torch::Tensor& groups,
                          double iou_threshold) {
  check_inputs(boxes, scores, "batched_nms");
  if (!groups.defined() || groups.dim() != 1 || groups.size(0) != boxes.size(0))
    throw RuntimeError("batched_nms: groups must be [N] with N = " + std::to_string(boxes.size(0)));
  if (boxes.size(0) == 0) return nms(boxes, scores, iou_threshold);
  // Shift every group by more than the extent of all boxes, so boxes of
  // different groups cannot overlap, then one NMS.
  auto b = boxes.detach().to(torch::kDouble);
  auto offset = groups.to(torch::kDouble) * (b.max() - b.min() + 1);
  return nms(b + offset.unsqueeze(1), scores, iou_threshold);
}

}  // namespace seer
