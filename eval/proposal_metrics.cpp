#include "eval/proposal_metrics.h"

#include <algorithm>

namespace seer::eval {

Metrics proposal_recall(const CocoDataset& gt, const std::vector<CocoAnn>& proposals, std::vector<int> ks,
                        int num_threads) {
  std::sort(ks.begin(), ks.end());
  CocoEvalParams p;
  p.iou_type = IouType::Bbox;
  p.use_cats = false;
  p.max_dets = ks;
  p.num_threads = num_threads;
  const CocoEvalResult r = coco_evaluate(gt, proposals, p);
  // Mean of recall[t, 0, a, m] over the chosen thresholds, skipping -1 (no ground truth).
  auto recall = [&](int a, int m, bool only_50) {
    double s = 0;
    int n = 0;
    for (int t = 0; t < r.T; ++t) {
      if (only_50 && r.iou_thrs[t] != 0.5) continue;
      const double v = r.recall_at(t, 0, a, m);
      if (v > -1) s += v, ++n;
    }
    return n ? s / n : -1.0;
  };
  Metrics out;
  for (int m = 0; m < r.M; ++m) out.emplace_back("AR@" + std::to_string(ks[m]), recall(0, m, false));
  for (int m = 0; m < r.M; ++m) out.emplace_back("R50@" + std::to_string(ks[m]), recall(0, m, true));
  for (int a = 1; a < r.A; ++a)
    for (int m = 0; m < r.M; ++m)
      out.emplace_back("AR_" + r.area_lbl[a] + "@" + std::to_string(ks[m]), recall(a, m, false));
  return out;
}

}  // namespace seer::eval
