#include "losses/hungarian.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace seer {

std::pair<torch::Tensor, torch::Tensor> linear_sum_assignment(const torch::Tensor& cost) {
  if (!cost.defined() || cost.dim() != 2) {
    std::ostringstream msg;
    msg << "linear_sum_assignment: expected a 2-D cost matrix, got "
        << (cost.defined() ? std::to_string(cost.dim()) + "-D" : std::string("an undefined tensor"));
    throw RuntimeError(msg.str());
  }
  if (!cost.is_floating_point())
    throw RuntimeError("linear_sum_assignment: cost matrix must be float or double, got " +
                       std::string(c10::toString(cost.scalar_type())));
  const int64_t rows = cost.size(0), cols = cost.size(1);
  auto c = cost.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const double* p = c.data_ptr<double>();
  const int64_t n = rows * cols;
  for (int64_t k = 0; k < n; ++k) {
    if (!std::isfinite(p[k])) {
      std::ostringstream msg;
      msg << "linear_sum_assignment: cost matrix [" << rows << "x" << cols << "] has a non-finite entry ("
          << p[k] << ") at (" << k / cols << ", " << k % cols << ")";
      throw RuntimeError(msg.str());
    }
  }
  std::vector<int64_t> r, cidx;
  linear_sum_assignment(p, rows, cols, r, cidx);
  auto opts = torch::TensorOptions().dtype(torch::kLong);
  const int64_t k = static_cast<int64_t>(r.size());
  auto rt = torch::empty({k}, opts), ct = torch::empty({k}, opts);
  std::copy(r.begin(), r.end(), rt.data_ptr<int64_t>());
  std::copy(cidx.begin(), cidx.end(), ct.data_ptr<int64_t>());
  return {rt, ct};
}

}  // namespace seer
