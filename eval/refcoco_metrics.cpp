#include "eval/refcoco_metrics.h"

#include <algorithm>
#include <cstdio>

namespace seer::eval {

namespace {

std::string label(double thr, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "Prec@%.*f", decimals, thr);
  return buf;
}

double share_at_least(const std::vector<double>& v, double thr) {
  if (v.empty()) return 0.0;
  int64_t hit = 0;
  for (double x : v) hit += x >= thr;
  return static_cast<double>(hit) / static_cast<double>(v.size());
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

void RecMetrics::add(const std::array<double, 4>& p, const std::array<double, 4>& g) {
  const double iw = std::max(0.0, std::min(p[2], g[2]) - std::max(p[0], g[0]));
  const double ih = std::max(0.0, std::min(p[3], g[3]) - std::max(p[1], g[1]));
  const double inter = iw * ih;
  const double ap = std::max(0.0, p[2] - p[0]) * std::max(0.0, p[3] - p[1]);
  const double ag = std::max(0.0, g[2] - g[0]) * std::max(0.0, g[3] - g[1]);
  const double uni = ap + ag - inter;
  ious_.push_back(uni > 0 ? inter / uni : 0.0);
}

double RecMetrics::precision_at(double thr) const { return share_at_least(ious_, thr); }

std::vector<std::pair<std::string, double>> RecMetrics::compute() const {
  std::vector<std::pair<std::string, double>> m;
  // 0.5 + i * 0.05 written as i * 5 / 100 to land on the decimal values.
  for (int i = 0; i <= 8; ++i) {
    const double thr = (50 + 5 * i) / 100.0;
    m.emplace_back(label(thr, 2), precision_at(thr));
  }
  m.emplace_back("mIoU", mean(ious_));
  return m;
}

void ResMetrics::add(const float* prob, const uint8_t* gt, int64_t hw) {
  int64_t i = 0, u = 0;
  for (int64_t k = 0; k < hw; ++k) {
    const bool p = prob[k] > thr_, g = gt[k] != 0;
    i += p && g;
    u += p || g;
  }
  add_counts(i, u);
}

void ResMetrics::add_counts(int64_t intersection, int64_t uni) {
  ious_.push_back(uni > 0 ? static_cast<double>(intersection) / static_cast<double>(uni) : 0.0);
  cum_i_ += static_cast<double>(intersection);
  cum_u_ += static_cast<double>(uni);
}

std::vector<std::pair<std::string, double>> ResMetrics::compute() const {
  std::vector<std::pair<std::string, double>> m;
  m.emplace_back("mIoU", mean(ious_));
  m.emplace_back("oIoU", cum_u_ > 0 ? cum_i_ / cum_u_ : 0.0);
  for (int i = 5; i <= 9; ++i) m.emplace_back(label(i / 10.0, 1), share_at_least(ious_, i / 10.0));
  return m;
}

}  // namespace seer::eval
