#pragma once
// The CPU loops of multi-scale deformable attention on raw contiguous arrays.
// No torch here: the file compiles without the precompiled header, once per
// instruction set (x86-64: AVX-512, AVX2, baseline; the loader picks one), and
// ops/ms_deform_attn.cpp owns validation, threading and autograd.
//
// Layouts (all contiguous, row-major): value [N, S, M, D], loc [N, Lq, M, L, P, 2]
// (x, y in [0, 1]), aw [N, Lq, M, L, P], out / grad_out [N, Lq, M, D].
// Sampling follows Deformable-DETR's CUDA kernel: h = y * H - 0.5,
// w = x * W - 0.5, a point is taken only when -1 < h < H and -1 < w < W, and
// bilinear corners outside the map contribute zero.
#include <cstdint>

namespace seer::msda {

struct Geometry {
  int64_t N, S, M, D, Lq, L, P;
  const int64_t* shapes;  // [L, 2] (H, W) of each level
  const int64_t* starts;  // [L] first row of each level in value's S
};

// Output rows [begin, end) of the flattened (n, q, m) range; each row is
// written whole.
void forward(const Geometry& g, const float* value, const float* loc, const float* aw, float* out, int64_t begin,
             int64_t end);
void forward(const Geometry& g, const double* value, const double* loc, const double* aw, double* out, int64_t begin,
             int64_t end);

// Queries [q_begin, q_end) of the (n, m) pairs [begin, end) of the flattened
// (n, m) range. A pair only touches grad_value[n, :, m, :] and its own rows
// of grad_loc and grad_aw, so pairs can run on different threads without
// locks; two query ranges of one pair need grad_value buffers of their own.
// grad_value is accumulated into; the rows of grad_loc and grad_aw are
// written whole.
void backward(const Geometry& g, const float* value, const float* loc, const float* aw, const float* grad_out,
              float* grad_value, float* grad_loc, float* grad_aw, int64_t begin, int64_t end, int64_t q_begin,
              int64_t q_end);
void backward(const Geometry& g, const double* value, const double* loc, const double* aw, const double* grad_out,
              double* grad_value, double* grad_loc, double* grad_aw, int64_t begin, int64_t end, int64_t q_begin,
              int64_t q_end);

}  // namespace seer::msda
