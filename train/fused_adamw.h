#pragma once
// The AdamW update of one contiguous float32 parameter, in a single pass over
// parameter, gradient and both moments (torch::optim::AdamW's tensor ops make
// about ten passes). No torch here: this file is compiled with -fno-math-errno
// so the loop (sqrt included) vectorises; seer::Optimizer calls it per chunk.
#include <cstdint>

namespace seer {

struct AdamWScalars {
  float decay;     // 1 - lr * weight_decay
  float beta1, beta2;
  float one_minus_beta1, one_minus_beta2;
  float sqrt_bias_correction2;  // sqrt(1 - beta2^t)
  float eps;
  float neg_step_size;          // -lr / (1 - beta1^t)
};

// For i in [0, n):
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g g
//   p = p * decay + neg_step_size * m / (sqrt(v) / sqrt_bias_correction2 + eps)
void adamw_update(float* p, float* m, float* v, const float* g, int64_t n, const AdamWScalars& s);

}  // namespace seer
