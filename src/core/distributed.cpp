#include "core/distributed.h"

#include <torch/torch.h>

#include "core/error.h"

namespace seer::dist {

namespace {

// The one installed backend; set by the launcher before any model or loader
// work starts, so readers never race with the writer.
std::shared_ptr<Backend>& installed() {
  static std::shared_ptr<Backend> b;
  return b;
}

}  // namespace

void set_backend(std::shared_ptr<Backend> backend) { installed() = std::move(backend); }
std::shared_ptr<Backend> backend() { return installed(); }

int rank() { return installed() ? installed()->rank() : 0; }
int world_size() { return installed() ? installed()->world_size() : 1; }
bool is_main() { return rank() == 0; }
bool distributed() { return world_size() > 1; }

void all_reduce_sum_(at::Tensor& tensor) {
  if (!distributed()) return;
  std::vector<at::Tensor> t{tensor};
  installed()->all_reduce_sum(t);
  if (!t[0].is_same(tensor)) tensor.copy_(t[0]);
}

void all_reduce_sum_(std::vector<at::Tensor>& tensors) {
  if (!distributed() || tensors.empty()) return;
  installed()->all_reduce_sum(tensors);
}

double all_reduce_sum(double value) {
  if (!distributed()) return value;
  auto t = torch::full({1}, value, torch::kFloat64);
  all_reduce_sum_(t);
  return t.item<double>();
}

void broadcast_(at::Tensor& tensor, int root) {
  if (!distributed()) return;
  std::vector<at::Tensor> t{tensor};
  installed()->broadcast(t, root);
  if (!t[0].is_same(tensor)) tensor.copy_(t[0]);
}

std::vector<std::string> all_gather_bytes(const std::string& mine) {
  if (!distributed()) return {mine};
  return installed()->all_gather_bytes(mine);
}

std::string broadcast_bytes(const std::string& bytes, int root) {
  if (!distributed()) return bytes;
  if (root < 0 || root >= world_size()) throw RuntimeError("broadcast_bytes: no rank " + std::to_string(root));
  // small payloads (metrics, flags): an all-gather in which only the root speaks
  auto all = installed()->all_gather_bytes(rank() == root ? bytes : std::string());
  return all[root];
}

void barrier() {
  if (distributed()) installed()->barrier();
}

}  // namespace seer::dist
