#include "ops/ms_deform_attn_kernel.h"

#include <algorithm>
#include <cmath>

// One clone per instruction set, chosen by the dynamic loader from the CPU it
// runs on; the D loops below vectorise in each. Elsewhere: one plain build.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SEER_MSDA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SEER_MSDA_CLONES
#endif
#define SEER_MSDA_INLINE inline __attribute__((always_inline))

namespace seer::msda {
namespace {

// Dot products accumulate into this many independent lanes: a float sum is
// not associative, so the compiler vectorises a reduction only when written
// lane-wise like this.
constexpr int64_t kLanes = 16;

// The bilinear taps of one sampling point in a level of H x W.
template <class T>
struct Taps {
  int64_t row[4];  // rows within the level, corners (h0,w0) (h0,w1) (h1,w0) (h1,w1); -1 = outside
  T w[4];          // bilinear weights of the corners
  T lh, lw, hh, hw;
  bool all_inside;
};

template <class T>
SEER_MSDA_INLINE bool taps(T x, T y, int64_t H, int64_t W, Taps<T>& t) {
  const T h = y * static_cast<T>(H) - T(0.5), w = x * static_cast<T>(W) - T(0.5);
  // also false for NaN, as in the CUDA kernel
  if (!(h > T(-1) && w > T(-1) && h < static_cast<T>(H) && w < static_cast<T>(W))) return false;
  const T hf = std::floor(h), wf = std::floor(w);
  const int64_t h0 = static_cast<int64_t>(hf), w0 = static_cast<int64_t>(wf), h1 = h0 + 1, w1 = w0 + 1;
  t.lh = h - hf;
  t.lw = w - wf;
  t.hh = T(1) - t.lh;
  t.hw = T(1) - t.lw;
  t.w[0] = t.hh * t.hw;
  t.w[1] = t.hh * t.lw;
  t.w[2] = t.lh * t.hw;
  t.w[3] = t.lh * t.lw;
  const bool top = h0 >= 0, bottom = h1 < H, left = w0 >= 0, right = w1 < W;
  t.row[0] = top && left ? h0 * W + w0 : -1;
  t.row[1] = top && right ? h0 * W + w1 : -1;
  t.row[2] = bottom && left ? h1 * W + w0 : -1;
  t.row[3] = bottom && right ? h1 * W + w1 : -1;
  t.all_inside = top && bottom && left && right;
  return true;
}

template <class T>
SEER_MSDA_INLINE void axpy(T* __restrict y, T a, const T* __restrict x, int64_t n) {
  for (int64_t d = 0; d < n; ++d) y[d] += a * x[d];
}

template <class T>
SEER_MSDA_INLINE void axpy4(T* __restrict y, const T* __restrict x0, const T* __restrict x1, const T* __restrict x2,
                            const T* __restrict x3, T a0, T a1, T a2, T a3, int64_t n) {
  for (int64_t d = 0; d < n; ++d) y[d] += a0 * x0[d] + a1 * x1[d] + a2 * x2[d] + a3 * x3[d];
}

template <class T>
SEER_MSDA_INLINE T dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T acc[kLanes] = {};
  int64_t d = 0;
  for (; d + kLanes <= n; d += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) acc[j] += a[d + j] * b[d + j];
  T s = 0;
  for (; d < n; ++d) s += a[d] * b[d];
  for (int64_t j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

// dots[c] = g . v_c and gv_c += a_c * g for the four corners in one pass over g.
template <class T>
SEER_MSDA_INLINE void dot_axpy4(const T* __restrict g, const T* __restrict v0, const T* __restrict v1,
                                const T* __restrict v2, const T* __restrict v3, T* __restrict gv0, T* __restrict gv1,
                                T* __restrict gv2, T* __restrict gv3, T a0, T a1, T a2, T a3, int64_t n, T* dots) {
  T acc0[kLanes] = {}, acc1[kLanes] = {}, acc2[kLanes] = {}, acc3[kLanes] = {};
  int64_t d = 0;
  for (; d + kLanes <= n; d += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) {
      const T gd = g[d + j];
      acc0[j] += gd * v0[d + j];
      acc1[j] += gd * v1[d + j];
      acc2[j] += gd * v2[d + j];
      acc3[j] += gd * v3[d + j];
      gv0[d + j] += a0 * gd;
      gv1[d + j] += a1 * gd;
      gv2[d + j] += a2 * gd;
      gv3[d + j] += a3 * gd;
    }
  }
  T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; d < n; ++d) {
    const T gd = g[d];
    s0 += gd * v0[d];
    s1 += gd * v1[d];
    s2 += gd * v2[d];
    s3 += gd * v3[d];
    gv0[d] += a0 * gd;
    gv1[d] += a1 * gd;
    gv2[d] += a2 * gd;
    gv3[d] += a3 * gd;
  }
  for (int64_t j = 0; j < kLanes; ++j) {
    s0 += acc0[j];
    s1 += acc1[j];
    s2 += acc2[j];
    s3 += acc3[j];
  }
  dots[0] = s0;
  dots[1] = s1;
  dots[2] = s2;
  dots[3] = s3;
}

template <class T>
SEER_MSDA_INLINE void forward_rows(const Geometry& g, const T* value, const T* loc, const T* aw, T* out, int64_t begin,
                                   int64_t end) {
  const int64_t D = g.D, MD = g.M * g.D, LP = g.L * g.P;
  for (int64_t i = begin; i < end; ++i) {  // i = (n * Lq + q) * M + m
    const int64_t n = i / (g.Lq * g.M), m = i % g.M;
    const T* value_nm = value + n * g.S * MD + m * D;  // row r of the head at value_nm + r * MD
    const T* loc_i = loc + i * LP * 2;
    const T* aw_i = aw + i * LP;
    T* o = out + i * D;
    std::fill(o, o + D, T(0));
    for (int64_t l = 0; l < g.L; ++l) {
      const int64_t H = g.shapes[2 * l], W = g.shapes[2 * l + 1];
      const T* v = value_nm + g.starts[l] * MD;
      for (int64_t p = 0; p < g.P; ++p) {
        const int64_t k = l * g.P + p;
        Taps<T> t;
        if (!taps(loc_i[2 * k], loc_i[2 * k + 1], H, W, t)) continue;
        const T a = aw_i[k];
        if (t.all_inside) {
          axpy4(o, v + t.row[0] * MD, v + t.row[1] * MD, v + t.row[2] * MD, v + t.row[3] * MD, a * t.w[0], a * t.w[1],
                a * t.w[2], a * t.w[3], D);
        } else {
          for (int c = 0; c < 4; ++c)
            if (t.row[c] >= 0) axpy(o, a * t.w[c], v + t.row[c] * MD, D);
        }
      }
    }
  }
}

template <class T>
SEER_MSDA_INLINE void backward_pairs(const Geometry& g, const T* value, const T* loc, const T* aw, const T* grad_out,
                                     T* grad_value, T* grad_loc, T* grad_aw, int64_t begin, int64_t end,
                                     int64_t q_begin, int64_t q_end) {
  const int64_t D = g.D, MD = g.M * g.D, LP = g.L * g.P;
  for (int64_t j = begin; j < end; ++j) {  // j = n * M + m
    const int64_t n = j / g.M, m = j % g.M;
    const T* value_nm = value + n * g.S * MD + m * D;
    T* grad_value_nm = grad_value + n * g.S * MD + m * D;
    for (int64_t q = q_begin; q < q_end; ++q) {
      const int64_t i = (n * g.Lq + q) * g.M + m;
      const T* go = grad_out + i * D;
      const T* loc_i = loc + i * LP * 2;
      const T* aw_i = aw + i * LP;
      T* gl = grad_loc + i * LP * 2;
      T* ga = grad_aw + i * LP;
      for (int64_t l = 0; l < g.L; ++l) {
        const int64_t H = g.shapes[2 * l], W = g.shapes[2 * l + 1];
        const T* v = value_nm + g.starts[l] * MD;
        T* gv = grad_value_nm + g.starts[l] * MD;
        for (int64_t p = 0; p < g.P; ++p) {
          const int64_t k = l * g.P + p;
          Taps<T> t;
          if (!taps(loc_i[2 * k], loc_i[2 * k + 1], H, W, t)) {
            gl[2 * k] = gl[2 * k + 1] = ga[k] = T(0);
            continue;
          }
          const T a = aw_i[k];
          T dots[4] = {T(0), T(0), T(0), T(0)};  // grad_out . corner value
          if (t.all_inside) {
            dot_axpy4(go, v + t.row[0] * MD, v + t.row[1] * MD, v + t.row[2] * MD, v + t.row[3] * MD,
                      gv + t.row[0] * MD, gv + t.row[1] * MD, gv + t.row[2] * MD, gv + t.row[3] * MD, a * t.w[0],
                      a * t.w[1], a * t.w[2], a * t.w[3], D, dots);
          } else {
            for (int c = 0; c < 4; ++c) {
              if (t.row[c] < 0) continue;
              dots[c] = dot(go, v + t.row[c] * MD, D);
              axpy(gv + t.row[c] * MD, a * t.w[c], go, D);
            }
          }
          ga[k] = t.w[0] * dots[0] + t.w[1] * dots[1] + t.w[2] * dots[2] + t.w[3] * dots[3];
          // d(sample)/dw and d(sample)/dh of the bilinear interpolation; w = x * W - 0.5
          const T dw = -t.hh * dots[0] + t.hh * dots[1] - t.lh * dots[2] + t.lh * dots[3];
          const T dh = -t.hw * dots[0] - t.lw * dots[1] + t.hw * dots[2] + t.lw * dots[3];
          gl[2 * k] = a * dw * static_cast<T>(W);
          gl[2 * k + 1] = a * dh * static_cast<T>(H);
        }
      }
    }
  }
}

}  // namespace

SEER_MSDA_CLONES void forward(const Geometry& g, const float* value, const float* loc, const float* aw, float* out,
                              int64_t begin, int64_t end) {
  forward_rows(g, value, loc, aw, out, begin, end);
}

SEER_MSDA_CLONES void forward(const Geometry& g, const double* value, const double* loc, const double* aw, double* out,
                              int64_t begin, int64_t end) {
  forward_rows(g, value, loc, aw, out, begin, end);
}

SEER_MSDA_CLONES void backward(const Geometry& g, const float* value, const float* loc, const float* aw,
                               const float* grad_out, float* grad_value, float* grad_loc, float* grad_aw, int64_t begin,
                               int64_t end, int64_t q_begin, int64_t q_end) {
  backward_pairs(g, value, loc, aw, grad_out, grad_value, grad_loc, grad_aw, begin, end, q_begin, q_end);
}

SEER_MSDA_CLONES void backward(const Geometry& g, const double* value, const double* loc, const double* aw,
                               const double* grad_out, double* grad_value, double* grad_loc, double* grad_aw,
                               int64_t begin, int64_t end, int64_t q_begin, int64_t q_end) {
  backward_pairs(g, value, loc, aw, grad_out, grad_value, grad_loc, grad_aw, begin, end, q_begin, q_end);
}

}  // namespace seer::msda
