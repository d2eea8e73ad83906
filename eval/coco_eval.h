#pragma once
// COCO detection / instance-segmentation evaluation with the semantics of
// pycocotools' COCOeval (evaluate + accumulate + summarize): IoU thresholds
// .50:.05:.95, 101 recall points, maxDets 1/10/100, four area ranges, crowd
// matching, ignore flags, per-category or category-agnostic (useCats=0).
// Numbers equal pycocotools' to rounding: IoUs and matching are computed with
// the same double arithmetic, so every threshold comparison agrees.
//
// The structures it reads and their loaders are in eval/coco_json.h, included
// here so that one include gives the whole tool.
#include <array>
#include <string>
#include <vector>

#include "eval/coco_json.h"

namespace seer::eval {

struct CocoEvalParams {
  IouType iou_type = IouType::Bbox;
  bool use_cats = true;
  std::vector<double> iou_thrs;  // default: np.linspace(.5, .95, 10)
  std::vector<double> rec_thrs;  // default: np.linspace(0, 1, 101)
  std::vector<int> max_dets{1, 10, 100};
  std::vector<std::array<double, 2>> area_rng{{0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};
  std::vector<std::string> area_lbl{"all", "small", "medium", "large"};
  std::vector<int64_t> img_ids;  // empty: every ground-truth image
  std::vector<int64_t> cat_ids;  // empty: every ground-truth category
  int num_threads = 0;           // 0: std::thread::hardware_concurrency()

  CocoEvalParams();
};

struct CocoEvalResult {
  IouType iou_type = IouType::Bbox;
  std::array<double, 12> stats{};  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl
  int T = 0, R = 0, K = 0, A = 0, M = 0;
  std::vector<double> precision;  // [T][R][K][A][M], -1 where a setting has no ground truth
  std::vector<double> recall;     // [T][K][A][M]
  std::vector<int64_t> cat_ids;   // the K evaluated categories (-1 with use_cats = false)
  std::vector<std::string> cat_names;
  std::vector<double> iou_thrs, rec_thrs;
  std::vector<int> max_dets;
  std::vector<std::string> area_lbl;

  double precision_at(int t, int r, int k, int a, int m) const {
    return precision[(((static_cast<size_t>(t) * R + r) * K + k) * A + a) * M + m];
  }
  double recall_at(int t, int k, int a, int m) const {
    return recall[((static_cast<size_t>(t) * K + k) * A + a) * M + m];
  }
  // pycocotools' _summarize: the mean over the valid (> -1) entries, -1 when none.
  // iou_thr < 0 means every threshold; area label and maxDets as in summarize().
  double summarize(bool ap, double iou_thr, const std::string& area, int max_det) const;
  // AP@[.5:.95] (area all, largest maxDets) of category k; -1 when it has no ground truth.
  double category_ap(int k, double iou_thr = -1) const;
  // The 12 lines pycocotools prints.
  std::string summary() const;
};

CocoEvalResult coco_evaluate(const CocoDataset& gt, const std::vector<CocoAnn>& dt, const CocoEvalParams& params);

}  // namespace seer::eval
