#include "losses/set_target.h"

#include "core/error.h"
#include "losses/check.h"
#include "ops/box_ops.h"

namespace seer {

SetTarget to_set_target(const Target& t, const torch::Tensor& positive_map) {
  const std::string where = "to_set_target(image " + std::to_string(t.image_id) + ")";
  const int64_t h = t.size[0], w = t.size[1];
  if (h <= 0 || w <= 0)
    throw RuntimeError(where + ": Target::size must be set (h, w > 0), got (" + std::to_string(h) + ", " +
                       std::to_string(w) + ")");
  SetTarget out;
  const int64_t n = t.num_boxes();
  if (n == 0) {
    // on the device of the (empty) target tensors, so torch::cat with other images works on a GPU
    const auto dev = t.boxes.defined() ? t.boxes.device() : torch::Device(torch::kCPU);
    out.boxes = torch::zeros({0, 4}, torch::TensorOptions().device(dev));
    out.labels = torch::zeros({0}, torch::TensorOptions().dtype(torch::kLong).device(dev));
    if (positive_map.defined()) out.positive_map = positive_map.new_zeros({0, positive_map.size(-1)});
    return out;
  }
  box::check_xyxy(t.boxes, where);
  if (!t.labels.defined() || t.labels.dim() != 1 || t.labels.size(0) != n)
    throw RuntimeError(where + ": labels " + check::shape(t.labels) + " do not match boxes " +
                       check::shape(t.boxes));
  if (t.labels.numel() > 0 && t.labels.min().item<int64_t>() < 0)
    throw RuntimeError(where + ": negative label " + std::to_string(t.labels.min().item<int64_t>()));
  if (positive_map.defined() && (positive_map.dim() != 2 || positive_map.size(0) != n))
    throw RuntimeError(where + ": positive_map " + check::shape(positive_map) + " must be [" + std::to_string(n) +
                       ", T]");

  torch::Tensor keep;
  if (t.iscrowd.defined() && t.iscrowd.numel() == n) keep = (t.iscrowd.to(torch::kLong) == 0).nonzero().squeeze(1);
  auto sel = [&](const torch::Tensor& x) { return (keep.defined() && x.defined()) ? x.index_select(0, keep) : x; };

  auto scale = torch::tensor({double(w), double(h), double(w), double(h)}, t.boxes.options());
  out.boxes = box::xyxy_to_cxcywh(sel(t.boxes) / scale);
  out.labels = sel(t.labels).to(torch::kLong);
  out.masks = sel(t.masks);
  out.positive_map = sel(positive_map);
  return out;
}

std::vector<SetTarget> to_set_targets(const std::vector<Target>& targets) {
  std::vector<SetTarget> out;
  out.reserve(targets.size());
  for (const auto& t : targets) out.push_back(to_set_target(t));
  return out;
}

}  // namespace seer
