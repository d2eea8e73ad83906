// Token assignment and losses of the auxiliary dense head (see the header).
#include "models/heads/dense_aux_head.h"

#include <algorithm>
#include <limits>

#include "losses/focal_loss.h"
#include "ops/box_ops.h"

namespace seer {

DenseAuxTargets dense_aux_targets(const std::vector<Target>& targets, const torch::Tensor& feat_mask,
                                  std::array<int64_t, 2> image_hw, int64_t num_classes,
                                  const std::function<torch::Tensor(const torch::Tensor&)>& class_of_label) {
  const int64_t B = feat_mask.size(0), h = feat_mask.size(1), w = feat_mask.size(2);
  const double sy = static_cast<double>(image_hw[0]) / h, sx = static_cast<double>(image_hw[1]) / w;
  auto classes = torch::zeros({B, h * w, num_classes});
  auto boxes = torch::zeros({B, h * w, 4});
  auto positive = torch::zeros({B, h * w}, torch::kBool);
  auto cls_a = classes.accessor<float, 3>();
  auto box_a = boxes.accessor<float, 3>();
  auto pos_a = positive.accessor<bool, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const Target& t = targets[static_cast<size_t>(b)];
    const int64_t n = t.boxes.defined() ? t.boxes.size(0) : 0;
    if (n == 0) continue;
    auto xyxy = t.boxes.to(torch::kCPU, torch::kFloat).contiguous();
    auto xa = xyxy.accessor<float, 2>();
    auto labels = t.labels.to(torch::kCPU, torch::kLong);
    if (class_of_label) labels = class_of_label(labels).to(torch::kCPU, torch::kLong);
    auto la = labels.accessor<int64_t, 1>();
    const double ih = std::max<int64_t>(t.size[0], 1), iw = std::max<int64_t>(t.size[1], 1);
    std::vector<float> best_area(static_cast<size_t>(h * w), std::numeric_limits<float>::infinity());
    for (int64_t k = 0; k < n; ++k) {
      const float x1 = xa[k][0], y1 = xa[k][1], x2 = xa[k][2], y2 = xa[k][3];
      const float area = std::max(x2 - x1, 0.f) * std::max(y2 - y1, 0.f);
      const double cx = 0.5 * (x1 + x2), cy = 0.5 * (y1 + y2);
      const int64_t ccol = std::clamp<int64_t>(static_cast<int64_t>(cx / sx), 0, w - 1);
      const int64_t crow = std::clamp<int64_t>(static_cast<int64_t>(cy / sy), 0, h - 1);
      for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c) {
          const double px = (c + 0.5) * sx, py = (r + 0.5) * sy;
          const bool inside = px >= x1 && px <= x2 && py >= y1 && py <= y2;
          if (!inside && !(r == crow && c == ccol)) continue;
          const size_t i = static_cast<size_t>(r * w + c);
          if (area >= best_area[i]) continue;
          best_area[i] = area;
          pos_a[b][r * w + c] = true;
          for (int64_t j = 0; j < num_classes; ++j) cls_a[b][r * w + c][j] = 0.f;
          const int64_t cls = la[k];
          if (cls >= 0 && cls < num_classes) cls_a[b][r * w + c][cls] = 1.f;
          box_a[b][r * w + c][0] = static_cast<float>(cx / iw);
          box_a[b][r * w + c][1] = static_cast<float>(cy / ih);
          box_a[b][r * w + c][2] = static_cast<float>((x2 - x1) / iw);
          box_a[b][r * w + c][3] = static_cast<float>((y2 - y1) / ih);
        }
    }
  }
  DenseAuxTargets out;
  const auto dev = feat_mask.device();
  out.classes = classes.to(dev);
  out.boxes = boxes.to(dev);
  out.valid = feat_mask.logical_not().reshape({B, h * w});
  out.positive = positive.to(dev).logical_and(out.valid);
  return out;
}

DenseAuxHeadImpl::DenseAuxHeadImpl(int64_t hidden_dim, int64_t num_classes) {
  class_embed = register_module("class_embed", torch::nn::Linear(hidden_dim, num_classes));
  bbox_embed = register_module("bbox_embed", MLP(hidden_dim, hidden_dim, 4, 2));
  // Focal-loss prior: every token starts as background with probability 0.99.
  torch::NoGradGuard ng;
  class_embed->bias.fill_(-std::log((1 - 0.01) / 0.01));
}

std::pair<torch::Tensor, torch::Tensor> DenseAuxHeadImpl::forward(const torch::Tensor& memory) {
  auto tokens = memory.flatten(2).transpose(1, 2);  // [B, h*w, D]
  return {class_embed->forward(tokens), bbox_embed->forward(tokens).sigmoid()};
}

std::array<torch::Tensor, 3> dense_aux_losses(const torch::Tensor& logits, const torch::Tensor& boxes,
                                              const DenseAuxTargets& t, double num_pos) {
  auto logits_f = logits.to(torch::kFloat), boxes_f = boxes.to(torch::kFloat);
  num_pos = std::max(num_pos, 1.0);
  auto focal = sigmoid_focal_loss(logits_f, t.classes, 0.25, 2.0, Reduction::None);  // [B, T, C]
  auto cls = (focal.sum(-1) * t.valid.to(focal.dtype())).sum() / num_pos;
  auto pos = t.positive.nonzero();  // [P, 2]
  if (pos.size(0) == 0) {
    auto zero = boxes_f.sum() * 0.0;
    return {cls, zero, zero};
  }
  auto src = boxes_f.index({pos.select(1, 0), pos.select(1, 1)});  // [P, 4]
  auto tgt = t.boxes.index({pos.select(1, 0), pos.select(1, 1)});
  auto l1 = (src - tgt).abs().sum() / num_pos;
  auto giou = (1 - box::generalized_iou_elementwise(box::cxcywh_to_xyxy(src), box::cxcywh_to_xyxy(tgt))).sum() / num_pos;
  return {cls, l1, giou};
}

}  // namespace seer
