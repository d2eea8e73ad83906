#pragma once
// COCO detection / instance-segmentation evaluation with the semantics of
// pycocotools' COCOeval (evaluate + accumulate + summarize): IoU thresholds
// .50:.05:.95, 101 recall points, maxDets 1/10/100, four area ranges, crowd
// matching, ignore flags, per-category or category-agnostic (useCats=0).
// Numbers equal pycocotools' to rounding: IoUs and matching are computed with
// the same double arithmetic, so every threshold comparison agrees.
//
// Loading follows pycocotools too: a results file is read as COCO.loadRes
// reads it (the first record decides whether boxes or masks define area),
// and a polygon ground truth is rasterised as annToRLE does.
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/coco_mask.h"

namespace seer::eval {

enum class IouType { Bbox, Segm };
IouType parse_iou_type(const std::string& s);  // "bbox" | "segm", else UsageError
const char* to_string(IouType t);

struct CocoImage {
  int64_t id = 0;
  int64_t height = 0, width = 0;
  std::string file_name;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

// One ground-truth annotation or one detection.
struct CocoAnn {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{0, 0, 0, 0};  // x, y, w, h
  double area = 0;
  double score = 0;      // detections only
  bool iscrowd = false;  // ground truth only
  rle::Rle mask;         // segm only (empty otherwise)
  std::array<double, 4> mask_box{0, 0, 0, 0};  // rle::to_bbox(mask), cached for the IoU pre-test
};

// A COCO instances ground truth (images, categories, annotations).
struct CocoDataset {
  std::vector<CocoImage> images;
  std::vector<CocoCategory> categories;
  std::vector<CocoAnn> annotations;

  // Index of an image / category id in images / categories, -1 when unknown.
  int64_t image_index(int64_t id) const;
  int64_t category_index(int64_t id) const;
  void build_index();  // call after filling images/categories by hand

 private:
  std::unordered_map<int64_t, int64_t> image_index_, category_index_;
};

// Load a COCO instances json. `with_masks` converts every segmentation to an RLE
// (polygons, uncompressed and compressed RLE, as pycocotools annToRLE). Errors are
// DataError naming the file and the annotation index.
CocoDataset load_coco_gt(const std::string& path, bool with_masks);
CocoDataset parse_coco_gt(const std::string& json_text, bool with_masks, const std::string& source = "<gt>");

// Load a results file (a json list of {image_id, category_id, score, bbox and/or
// segmentation}) against `gt`, as COCO.loadRes does: ids become index + 1, iscrowd 0,
// area = bbox w*h when the first record has a bbox, else the mask area. Bad records
// (NaN/Infinity, negative size, unknown image or category id, missing fields) are a
// DataError naming the record index.
std::vector<CocoAnn> load_coco_results(const std::string& path, const CocoDataset& gt, IouType type);
std::vector<CocoAnn> parse_coco_results(const std::string& json_text, const CocoDataset& gt, IouType type,
                                        const std::string& source = "<results>");

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
