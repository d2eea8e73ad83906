#pragma once
// COCO "instances" json (images / annotations / categories), the format of
// COCO detection and segmentation and of most detection datasets since.
//
// Read as DETR's CocoDetection + ConvertCocoPolysToMask do: images in ascending
// id order, category ids mapped to contiguous labels 0..C-1 in ascending id
// order, boxes xywh -> xyxy clamped to the image and kept only when x2 > x1 and
// y2 > y1. Unlike DETR, crowd annotations are kept (Target::iscrowd): the models'
// losses drop them and the COCO evaluator needs them.
#include <array>
#include <string>
#include <vector>

#include "data/coco_segm.h"
#include "data/dataset.h"

namespace seer {

struct CocoOptions {
  std::string ann_file;       // resolved path of the instances json
  std::string img_dir;        // resolved image folder
  bool with_masks = false;    // decode segmentations into Target::masks
  bool filter_empty = false;  // drop images without a usable non-crowd box
  OnError on_error = OnError::Skip;
};

class CocoDataset : public Dataset {
 public:
  explicit CocoDataset(CocoOptions options);

  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  Sample get(int64_t index) const override;
  std::array<int64_t, 2> image_size(int64_t index) const override;
  const CategoryTable& categories() const override { return categories_; }
  std::string describe() const override;

  // Original COCO image id of sample `index` (for evaluation against the json).
  int64_t image_id(int64_t index) const { return images_.at(index).id; }

 private:
  struct Annotation {
    int64_t id = -1;
    size_t record = 0;             // position in the json's annotation list (for messages)
    std::array<double, 4> xywh{};  // as in the json
    int64_t label = 0;             // contiguous
    uint8_t iscrowd = 0;
    float area = 0.f;
    CocoSegmentation segm;
  };
  struct Image {
    int64_t id = -1;
    size_t record = 0;
    std::string file_name;
    int64_t height = 0, width = 0;
    std::vector<Annotation> anns;
  };

  CocoOptions options_;
  CategoryTable categories_;
  std::vector<Image> images_;
};

}  // namespace seer
