#pragma once
// Input checks shared by the loss terms: each failure is one line naming the
// function and the offending shape or value (seer::RuntimeError).
#include <torch/torch.h>

#include <sstream>
#include <string>

#include "core/error.h"

namespace seer::check {

inline std::string shape(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

inline void defined(const torch::Tensor& t, const char* fn, const char* name) {
  if (!t.defined()) throw RuntimeError(std::string(fn) + ": " + name + " is undefined");
}

inline void dims(const torch::Tensor& t, int64_t d, const char* fn, const char* name) {
  defined(t, fn, name);
  if (t.dim() != d)
    throw RuntimeError(std::string(fn) + ": " + name + " must be " + std::to_string(d) + "-D, got " + shape(t));
}

inline void same_shape(const torch::Tensor& a, const torch::Tensor& b, const char* fn, const char* na,
                       const char* nb) {
  defined(a, fn, na);
  defined(b, fn, nb);
  if (!a.sizes().equals(b.sizes()))
    throw RuntimeError(std::string(fn) + ": " + na + " " + shape(a) + " and " + nb + " " + shape(b) +
                       " must have the same shape");
}

inline void finite(const torch::Tensor& t, const char* fn, const char* name) {
  if (t.defined() && t.numel() > 0 && !torch::isfinite(t.detach()).all().item<bool>())
    throw RuntimeError(std::string(fn) + ": " + name + " contains NaN or inf");
}

// Labels in [0, n).
inline void labels_in_range(const torch::Tensor& labels, int64_t n, const char* fn) {
  if (!labels.defined() || labels.numel() == 0) return;
  auto lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
  if (lo < 0 || hi >= n) {
    std::ostringstream m;
    m << fn << ": label " << (lo < 0 ? lo : hi) << " out of range [0, " << n << ")";
    throw RuntimeError(m.str());
  }
}

}  // namespace seer::check
