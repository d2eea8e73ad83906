#pragma once
// COCO's run-length-encoded (RLE) mask API, with the semantics of cocoapi's
// maskApi.c (column-major runs starting with background, the LEB128-like
// compressed string form, polygon rasterisation by the same rule).
// Shared by data readers (decoding annotation masks) and the COCO evaluator.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace seer::rle {

struct Rle {
  int64_t h = 0, w = 0;
  std::vector<uint32_t> counts;  // alternating runs of 0s and 1s, column-major, first run is 0s
};

// `mask` is row-major [h*w] uint8 (nonzero = foreground); the runs are column-major.
Rle encode(const uint8_t* mask, int64_t h, int64_t w);
std::vector<uint8_t> decode(const Rle& r);  // row-major [h*w], 0/1
uint64_t area(const Rle& r);
// Union (intersect=false) or intersection of several RLEs of the same size.
// Sizes that disagree give an empty 0x0 RLE, as cocoapi does.
Rle merge(const std::vector<Rle>& rles, bool intersect = false);
// IoU matrix [dt.size() x gt.size()] (row-major: out[d * gt.size() + g]); for crowd
// gts, union = area(dt). A dt/gt pair of different sizes gives -1 (as cocoapi).
// `iscrowd` may be empty (no crowds).
std::vector<double> iou(const std::vector<Rle>& dt, const std::vector<Rle>& gt, const std::vector<uint8_t>& iscrowd);
// IoU of one pair (crowd: union = area(dt)); same arithmetic as iou().
double iou_one(const Rle& dt, const Rle& gt, bool crowd);
// The same with the masks' to_bbox() boxes already known (the evaluator caches them).
double iou_one(const Rle& dt, const Rle& gt, bool crowd, const std::array<double, 4>& dt_box,
               const std::array<double, 4>& gt_box);
// IoU of one box pair [x,y,w,h] (cocoapi bbIou arithmetic; crowd: union = area(dt)).
double box_iou_one(const std::array<double, 4>& dt, const std::array<double, 4>& gt, bool crowd);
// IoU of boxes [x,y,w,h] with the same crowd rule (cocoapi bbIou), same layout as iou().
std::vector<double> box_iou(const std::vector<std::array<double, 4>>& dt, const std::vector<std::array<double, 4>>& gt,
                            const std::vector<uint8_t>& iscrowd);
// Polygon [x0,y0,x1,y1,...] to RLE, rasterised as cocoapi rleFrPoly does.
Rle from_polygon(const std::vector<double>& xy, int64_t h, int64_t w);
// A COCO json polygon list (one object, several parts) to one RLE, as pycocotools'
// annToRLE does: frPyObjects then merge. Quirk kept: when the first part has exactly
// 4 numbers, pycocotools reads every part as a box [x,y,w,h].
Rle from_polygons(const std::vector<std::vector<double>>& parts, int64_t h, int64_t w);
// Box [x,y,w,h] to RLE (cocoapi rleFrBbox: the box as a 4-point polygon).
Rle from_bbox(const std::array<double, 4>& xywh, int64_t h, int64_t w);
// Bounding box [x,y,w,h] of a mask (cocoapi rleToBbox, quirks included).
std::array<double, 4> to_bbox(const Rle& r);
// The compressed string form used in COCO json ("counts": "...").
std::string to_string(const Rle& r);
Rle from_string(const std::string& s, int64_t h, int64_t w);
// An uncompressed RLE as in COCO json ("counts": [ints]).
Rle from_counts(const std::vector<uint32_t>& counts, int64_t h, int64_t w);

}  // namespace seer::rle
