#pragma once
// Referring-expression metrics (RefCOCO / RefCOCO+ / RefCOCOg), one split at a time.
// REC: one predicted box per expression; Prec@t = share of expressions whose box
//      IoU with the ground truth is >= t, for t = 0.5, 0.55, ..., 0.9.
// RES: one predicted mask per expression, foreground where prob > mask_threshold
//      (VG-LAW uses 0.35); mIoU = mean per-expression IoU, oIoU = sum I / sum U,
//      Prec@0.5..0.9 (step 0.1). An expression whose prediction and ground truth
//      are both empty has IoU 0 (U = 0).
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace seer::eval {

class RecMetrics {
 public:
  // Boxes xyxy in the same pixels.
  void add(const std::array<double, 4>& pred, const std::array<double, 4>& gt);
  int64_t count() const { return static_cast<int64_t>(ious_.size()); }
  double precision_at(double thr) const;
  // {"Prec@0.5", ...} over 0.5:0.05:0.9, plus "mIoU".
  std::vector<std::pair<std::string, double>> compute() const;

 private:
  std::vector<double> ious_;
};

class ResMetrics {
 public:
  explicit ResMetrics(double mask_threshold = 0.5) : thr_(mask_threshold) {}
  // prob: predicted foreground probabilities [h*w]; gt: 0/1 [h*w].
  void add(const float* prob, const uint8_t* gt, int64_t hw);
  // Already-binarised masks, or counts computed elsewhere.
  void add_counts(int64_t intersection, int64_t uni);
  int64_t count() const { return static_cast<int64_t>(ious_.size()); }
  // {"mIoU", "oIoU", "Prec@0.5", ..., "Prec@0.9"}.
  std::vector<std::pair<std::string, double>> compute() const;

 private:
  double thr_;
  std::vector<double> ious_;
  double cum_i_ = 0, cum_u_ = 0;
};

}  // namespace seer::eval
