#include "eval/tagging_metrics.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "core/error.h"

namespace seer::eval {

namespace {

void check(const std::vector<float>& scores, const std::vector<float>& targets, int64_t n, int64_t c) {
  const size_t want = static_cast<size_t>(n * c);
  if (scores.size() != want || targets.size() != want)
    throw RuntimeError("tagging metrics: scores/targets are not [" + std::to_string(n) + ", " + std::to_string(c) +
                       "]");
}

// Per-class counts -> the six scores.
TaggingScores from_counts(const std::vector<double>& nc, const std::vector<double>& np, const std::vector<double>& ng) {
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  auto f1 = [](double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; };
  TaggingScores s;
  const size_t c = nc.size();
  double snc = 0, snp = 0, sng = 0;
  for (size_t j = 0; j < c; ++j) {
    s.CP += ratio(nc[j], np[j]);
    s.CR += ratio(nc[j], ng[j]);
    snc += nc[j], snp += np[j], sng += ng[j];
  }
  if (c > 0) s.CP /= static_cast<double>(c), s.CR /= static_cast<double>(c);
  s.CF1 = f1(s.CP, s.CR);
  s.OP = ratio(snc, snp);
  s.OR = ratio(snc, sng);
  s.OF1 = f1(s.OP, s.OR);
  return s;
}

TaggingScores from_predicted(const std::vector<uint8_t>& pred, const std::vector<float>& targets, int64_t n,
                             int64_t c) {
  std::vector<double> nc(c, 0), np(c, 0), ng(c, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const float t = targets[i * c + j];
      if (t < 0) continue;  // unknown label
      const bool p = pred[i * c + j], g = t > 0;
      np[j] += p;
      ng[j] += g;
      nc[j] += p && g;
    }
  return from_counts(nc, np, ng);
}

}  // namespace

std::vector<double> tagging_ap(const std::vector<float>& scores, const std::vector<float>& targets, int64_t n,
                               int64_t c) {
  check(scores, targets, n, c);
  std::vector<double> ap(c, -1.0);
  std::vector<int64_t> order(n);
  for (int64_t j = 0; j < c; ++j) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return scores[a * c + j] > scores[b * c + j]; });
    double pos = 0, total = 0, sum = 0;
    for (int64_t i : order) {
      const float t = targets[i * c + j];
      if (t < 0) continue;
      total += 1;
      if (t > 0) {
        pos += 1;
        sum += pos / total;
      }
    }
    if (pos > 0) ap[j] = sum / pos;
  }
  return ap;
}

double tagging_map(const std::vector<double>& ap) {
  double s = 0;
  int64_t k = 0;
  for (double v : ap)
    if (v >= 0) s += v, ++k;
  return k ? s / static_cast<double>(k) : 0.0;
}

TaggingScores tagging_at_threshold(const std::vector<float>& scores, const std::vector<float>& targets, int64_t n,
                                   int64_t c, const std::vector<double>& thresholds) {
  check(scores, targets, n, c);
  if (thresholds.size() != 1 && static_cast<int64_t>(thresholds.size()) != c)
    throw RuntimeError("tagging metrics: " + std::to_string(thresholds.size()) + " thresholds for " +
                       std::to_string(c) + " classes (give 1 or one per class)");
  std::vector<uint8_t> pred(scores.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j)
      pred[i * c + j] = scores[i * c + j] >= thresholds[thresholds.size() == 1 ? 0 : j];
  return from_predicted(pred, targets, n, c);
}

TaggingScores tagging_top_k(const std::vector<float>& scores, const std::vector<float>& targets, int64_t n, int64_t c,
                            int64_t k) {
  check(scores, targets, n, c);
  std::vector<uint8_t> pred(scores.size(), 0);
  std::vector<int64_t> order(c);
  for (int64_t i = 0; i < n; ++i) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return scores[i * c + a] > scores[i * c + b]; });
    for (int64_t r = 0; r < std::min(k, c); ++r) pred[i * c + order[r]] = 1;
  }
  return from_predicted(pred, targets, n, c);
}

}  // namespace seer::eval
