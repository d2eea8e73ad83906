#pragma once
// Group DETR (Chen et al. 2022) in training: G groups of Q queries decode the
// same encoder memory, each group on its own (no attention between groups),
// and each group is matched one-to-one against the same targets. Folding the
// groups into the batch dimension (group-major: entry g * B + b) gives exactly
// that with any decoder, so these helpers serve every DETR-like family.
#include <torch/torch.h>

#include <vector>

namespace seer::query_groups {

// [G * Q, C] embeddings (group g = rows g*Q .. (g+1)*Q - 1) -> [Q, G * B, C],
// the layout of a sequence-first decoder's queries.
inline torch::Tensor to_batch(const torch::Tensor& embed, int64_t groups, int64_t batch) {
  const int64_t Q = embed.size(0) / groups, C = embed.size(1);
  return embed.reshape({groups, Q, 1, C})
      .expand({groups, Q, batch, C})
      .permute({1, 0, 2, 3})
      .reshape({Q, groups * batch, C});
}

// x repeated group-major along `dim` (the batch dimension of x).
inline torch::Tensor repeat(const torch::Tensor& x, int64_t groups, int64_t dim) {
  if (groups == 1) return x;
  std::vector<int64_t> reps(static_cast<size_t>(x.dim()), 1);
  reps[static_cast<size_t>(dim)] = groups;
  return x.repeat(reps);
}

// The batch's targets once per group, group-major.
template <class T>
std::vector<T> repeat_targets(const std::vector<T>& targets, int64_t groups) {
  std::vector<T> all;
  all.reserve(targets.size() * static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) all.insert(all.end(), targets.begin(), targets.end());
  return all;
}

}  // namespace seer::query_groups
