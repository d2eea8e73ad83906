#pragma once
// The COCO annotation format in memory, and its two readers: an instances
// ground truth (images, categories, annotations) and a results file (a list of
// detections). Evaluation (eval/coco_eval.h) works on these structures only.
//
// Loading follows pycocotools: a results file is read as COCO.loadRes reads it
// (the first record decides whether boxes or masks define area), and a polygon
// ground truth is rasterised as annToRLE does.
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

}  // namespace seer::eval
