#include "train/fused_adamw.h"

#include <cmath>

namespace seer {

void adamw_update(float* __restrict p, float* __restrict m, float* __restrict v, const float* __restrict g, int64_t n,
                  const AdamWScalars& s) {
  const AdamWScalars c = s;  // locals: no aliasing with the arrays
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    const float vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * c.decay + c.neg_step_size * (mi / (std::sqrt(vi) / c.sqrt_bias_correction2 + c.eps));
  }
}

}  // namespace seer
