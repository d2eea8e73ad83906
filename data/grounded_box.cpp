#include "data/grounded_box.h"

#include <torch/torch.h>

#include <algorithm>

namespace seer {

void set_grounded_boxes(Target& t, const std::vector<GroundedBox>& boxes, float w, float h) {
  std::vector<float> xyxy, area;
  std::vector<int64_t> labels;
  t.tokens_positive.clear();
  for (const auto& b : boxes) {
    const float x1 = std::clamp(b.xyxy[0], 0.f, w), y1 = std::clamp(b.xyxy[1], 0.f, h);
    const float x2 = std::clamp(b.xyxy[2], 0.f, w), y2 = std::clamp(b.xyxy[3], 0.f, h);
    if (!(x2 > x1 && y2 > y1)) continue;
    xyxy.insert(xyxy.end(), {x1, y1, x2, y2});
    area.push_back((x2 - x1) * (y2 - y1));
    labels.push_back(b.label);
    t.tokens_positive.push_back(b.spans);
  }
  const auto n = static_cast<int64_t>(labels.size());
  t.boxes = torch::from_blob(xyxy.data(), {n, 4}, torch::kFloat32).clone();
  t.labels = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
  t.area = torch::from_blob(area.data(), {n}, torch::kFloat32).clone();
  t.iscrowd = torch::zeros({n}, torch::kUInt8);
}

}  // namespace seer
