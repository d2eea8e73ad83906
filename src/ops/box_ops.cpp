#include "ops/box_ops.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace seer::box {

using torch::indexing::Ellipsis;
using torch::indexing::Slice;

namespace {
torch::Tensor col(const torch::Tensor& b, int64_t k) { return b.select(-1, k); }
}  // namespace

torch::Tensor cxcywh_to_xyxy(const torch::Tensor& b) {
  auto cx = col(b, 0), cy = col(b, 1), w = col(b, 2), h = col(b, 3);
  return torch::stack({cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h}, -1);
}

torch::Tensor xyxy_to_cxcywh(const torch::Tensor& b) {
  auto x0 = col(b, 0), y0 = col(b, 1), x1 = col(b, 2), y1 = col(b, 3);
  return torch::stack({(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0}, -1);
}

torch::Tensor area(const torch::Tensor& b) { return (col(b, 2) - col(b, 0)) * (col(b, 3) - col(b, 1)); }

namespace {
// Intersection and union of every pair, [N,M] each.
std::pair<torch::Tensor, torch::Tensor> inter_union(const torch::Tensor& a, const torch::Tensor& b) {
  auto area_a = area(a), area_b = area(b);
  auto lt = torch::max(a.index({Slice(), torch::indexing::None, Slice(0, 2)}), b.index({Slice(), Slice(0, 2)}));
  auto rb = torch::min(a.index({Slice(), torch::indexing::None, Slice(2, 4)}), b.index({Slice(), Slice(2, 4)}));
  auto wh = (rb - lt).clamp_min(0);
  auto inter = wh.select(-1, 0) * wh.select(-1, 1);
  auto uni = area_a.unsqueeze(1) + area_b.unsqueeze(0) - inter;
  return {inter, uni};
}
}  // namespace

torch::Tensor iou(const torch::Tensor& a, const torch::Tensor& b) {
  auto [inter, uni] = inter_union(a, b);
  return inter / uni;
}

torch::Tensor generalized_iou(const torch::Tensor& a, const torch::Tensor& b) {
  auto [inter, uni] = inter_union(a, b);
  auto iou_ = inter / uni;
  auto lt = torch::min(a.index({Slice(), torch::indexing::None, Slice(0, 2)}), b.index({Slice(), Slice(0, 2)}));
  auto rb = torch::max(a.index({Slice(), torch::indexing::None, Slice(2, 4)}), b.index({Slice(), Slice(2, 4)}));
  auto wh = (rb - lt).clamp_min(0);
  auto hull = wh.select(-1, 0) * wh.select(-1, 1);
  return iou_ - (hull - uni) / hull;
}

torch::Tensor generalized_iou_elementwise(const torch::Tensor& a, const torch::Tensor& b) {
  auto ia = a.index({Ellipsis, Slice(0, 2)}), ib = b.index({Ellipsis, Slice(0, 2)});
  auto ja = a.index({Ellipsis, Slice(2, 4)}), jb = b.index({Ellipsis, Slice(2, 4)});
  auto wh = (torch::min(ja, jb) - torch::max(ia, ib)).clamp_min(0);
  auto inter = wh.select(-1, 0) * wh.select(-1, 1);
  auto uni = area(a) + area(b) - inter;
  auto hwh = (torch::max(ja, jb) - torch::min(ia, ib)).clamp_min(0);
  auto hull = hwh.select(-1, 0) * hwh.select(-1, 1);
  return inter / uni - (hull - uni) / hull;
}

torch::Tensor complete_iou(const torch::Tensor& pred, const torch::Tensor& target, double eps) {
  auto px1 = col(pred, 0), py1 = col(pred, 1), px2 = col(pred, 2), py2 = col(pred, 3);
  auto tx1 = col(target, 0), ty1 = col(target, 1), tx2 = col(target, 2), ty2 = col(target, 3);
  auto inter = (torch::min(px2, tx2) - torch::max(px1, tx1)).clamp_min(0) *
               (torch::min(py2, ty2) - torch::max(py1, ty1)).clamp_min(0);
  auto pw = px2 - px1, tw = tx2 - tx1;
  auto uni = pw * (py2 - py1) + tw * (ty2 - ty1) - inter + eps;
  auto iou_ = inter / uni;
  // Heights get eps only in the aspect term (mmyolo adds it after the union).
  auto ph = py2 - py1 + eps, th = ty2 - ty1 + eps;
  auto cw = (torch::max(px2, tx2) - torch::min(px1, tx1)).clamp_min(0);
  auto ch = (torch::max(py2, ty2) - torch::min(py1, ty1)).clamp_min(0);
  auto c2 = cw.pow(2) + ch.pow(2) + eps;
  // Squared centre distance; sums of corners are twice the centres, hence / 4.
  auto rho2 = ((tx1 + tx2) - (px1 + px2)).pow(2) / 4 + ((ty1 + ty2) - (py1 + py2)).pow(2) / 4;
  auto v = (4.0 / (M_PI * M_PI)) * (torch::atan(tw / th) - torch::atan(pw / ph)).pow(2);
  torch::Tensor alpha;
  {
    torch::NoGradGuard no_grad;
    alpha = v / (v - iou_ + (1 + eps));
  }
  return (iou_ - (rho2 / c2 + alpha * v)).clamp(-1.0, 1.0);
}

void check_xyxy(const torch::Tensor& b, const std::string& what) {
  if (!b.defined()) throw RuntimeError(what + ": boxes are undefined");
  if (b.dim() < 1 || b.size(-1) != 4) {
    std::ostringstream m;
    m << what << ": boxes must have shape [..., 4], got " << b.sizes();
    throw RuntimeError(m.str());
  }
  if (b.numel() == 0) return;
  auto d = b.detach();
  if (!torch::isfinite(d).all().item<bool>()) throw RuntimeError(what + ": boxes contain NaN or inf");
  auto bad = (d.select(-1, 2) < d.select(-1, 0)) | (d.select(-1, 3) < d.select(-1, 1));
  if (bad.any().item<bool>()) {
    auto flat = bad.reshape(-1).nonzero();
    int64_t k = flat[0].item<int64_t>();
    auto row = d.reshape({-1, 4})[k];
    std::ostringstream m;
    m << what << ": box " << k << " has x2 < x1 or y2 < y1 (" << row[0].item<double>() << ", "
      << row[1].item<double>() << ", " << row[2].item<double>() << ", " << row[3].item<double>() << ")";
    throw RuntimeError(m.str());
  }
}

}  // namespace seer::box
