#include "losses/class_costs.h"

namespace seer {

namespace {
// [P, C] focal "pos - neg" per class, from sigmoid probabilities.
torch::Tensor focal_margin(const torch::Tensor& logits, double alpha, double gamma) {
  auto p = logits.sigmoid();
  auto neg = (1 - alpha) * p.pow(gamma) * (-(1 - p + 1e-8).log());
  auto pos = alpha * (1 - p).pow(gamma) * (-(p + 1e-8).log());
  return pos - neg;
}
}  // namespace

torch::Tensor softmax_class_cost(const torch::Tensor& logits, const torch::Tensor& labels) {
  return -logits.softmax(-1).index_select(1, labels);
}

torch::Tensor focal_class_cost(const torch::Tensor& logits, const torch::Tensor& labels, double alpha, double gamma) {
  return focal_margin(logits, alpha, gamma).index_select(1, labels);
}

torch::Tensor token_class_cost(const torch::Tensor& logits, const torch::Tensor& positive_map, double alpha,
                               double gamma) {
  auto pm = positive_map.to(logits.dtype());
  auto count = pm.sum(-1, true);
  auto norm = torch::where(count > 0, pm / count.clamp_min(1e-30), torch::zeros_like(pm));
  return torch::matmul(focal_margin(logits, alpha, gamma), norm.t());
}

}  // namespace seer
