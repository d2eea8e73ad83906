#include "data/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace seer {

namespace {

constexpr int kBits = 22;  // fixed-point fraction bits of the weights

// The taps of one axis: output i reads `count[i]` inputs from `first[i]` on with
// the weights weight[i * stride ...].
struct Taps {
  std::vector<int> first, count;
  std::vector<int32_t> weight;
  int stride = 0;
};

Taps make_taps(int in, int out) {
  const double scale = static_cast<double>(in) / out;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's support is 1 input pixel, widened when shrinking
  Taps t;
  t.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out);
  t.count.resize(out);
  t.weight.assign(static_cast<size_t>(out) * t.stride, 0);
  std::vector<double> k(t.stride);
  for (int i = 0; i < out; ++i) {
    const double center = (i + 0.5) * scale;
    // truncation toward zero, as a C cast, then clamped to the image
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int n = std::min(static_cast<int>(center + support + 0.5), in) - lo;
    double sum = 0;
    for (int j = 0; j < n; ++j) {
      const double x = std::abs((j + lo - center + 0.5) / filter_scale);
      k[j] = x < 1.0 ? 1.0 - x : 0.0;
      sum += k[j];
    }
    for (int j = 0; j < n; ++j) {
      const double v = (sum != 0.0 ? k[j] / sum : k[j]) * (1 << kBits);
      t.weight[static_cast<size_t>(i) * t.stride + j] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    }
    t.first[i] = lo;
    t.count[i] = n;
  }
  return t;
}

inline uint8_t clamp8(int32_t acc) {
  const int32_t v = acc >> kBits;  // arithmetic shift: floor
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

cv::Mat horizontal(const cv::Mat& src, int w) {
  const int ch = src.channels();
  const Taps t = make_taps(src.cols, w);
  cv::Mat dst(src.rows, w, src.type());
  for (int y = 0; y < src.rows; ++y) {
    const uint8_t* in = src.ptr<uint8_t>(y);
    uint8_t* out = dst.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const int32_t* k = &t.weight[static_cast<size_t>(x) * t.stride];
      const uint8_t* p = in + t.first[x] * ch;
      for (int c = 0; c < ch; ++c) {
        int32_t acc = 1 << (kBits - 1);
        for (int j = 0; j < t.count[x]; ++j) acc += p[j * ch + c] * k[j];
        out[x * ch + c] = clamp8(acc);
      }
    }
  }
  return dst;
}

cv::Mat vertical(const cv::Mat& src, int h) {
  const int row = src.cols * src.channels();
  const Taps t = make_taps(src.rows, h);
  cv::Mat dst(h, src.cols, src.type());
  std::vector<int32_t> acc(row);
  for (int y = 0; y < h; ++y) {
    std::fill(acc.begin(), acc.end(), 1 << (kBits - 1));
    const int32_t* k = &t.weight[static_cast<size_t>(y) * t.stride];
    for (int j = 0; j < t.count[y]; ++j) {
      const uint8_t* in = src.ptr<uint8_t>(t.first[y] + j);
      const int32_t kj = k[j];
      for (int i = 0; i < row; ++i) acc[i] += in[i] * kj;
    }
    uint8_t* out = dst.ptr<uint8_t>(y);
    for (int i = 0; i < row; ++i) out[i] = clamp8(acc[i]);
  }
  return dst;
}

}  // namespace

cv::Mat pil_bilinear_resize(const cv::Mat& src, int h, int w) {
  if (src.depth() != CV_8U || src.empty() || h <= 0 || w <= 0)
    throw std::invalid_argument("pil_bilinear_resize: needs a non-empty 8-bit image and a positive size");
  cv::Mat out = src;
  if (w != src.cols) out = horizontal(out, w);
  if (h != src.rows) out = vertical(out, h);
  return out.data == src.data ? src.clone() : out;
}

}  // namespace seer
