#include "ops/drop_path.h"

#include "core/error.h"

namespace seer {

torch::Tensor drop_path(const torch::Tensor& x, double p, bool training) {
  if (p < 0 || p >= 1) throw RuntimeError("drop_path: probability must be in [0, 1), got " + std::to_string(p));
  if (!training || p == 0.0) return x;
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  const double keep = 1.0 - p;
  auto mask = torch::empty(shape, x.options()).bernoulli_(keep);
  return x * mask / keep;
}

DropPathImpl::DropPathImpl(double p) : p_(p) {
  if (p < 0 || p >= 1) throw RuntimeError("DropPath: probability must be in [0, 1), got " + std::to_string(p));
}

torch::Tensor DropPathImpl::forward(const torch::Tensor& x) { return drop_path(x, p_, is_training()); }

}  // namespace seer
