#pragma once
// The RefCOCO family (RefCOCO, RefCOCO+, RefCOCOg) in the layout the `refer`
// API reads: <data_dir>/<dataset>/refs(<split_by>).p, a pickled list of refs
// {ref_id, ann_id, image_id, category_id, split, sentences: [{sent, ...}]}, and
// <data_dir>/<dataset>/instances.json with the COCO images and annotations the
// refs point at.
//
// One sample per (ref, sentence) of the chosen split: the referred object's box
// (and mask), the sentence as caption, its span covering the whole caption.
#include <array>
#include <string>
#include <vector>

#include "data/coco_segm.h"
#include "data/dataset.h"

namespace seer {

struct RefCocoOptions {
  std::string data_dir;           // resolved; holds <dataset>/
  std::string dataset = "refcoco";
  std::string split_by = "unc";
  std::string split = "train";
  std::string img_dir;            // resolved image root
  bool with_masks = false;
  OnError on_error = OnError::Skip;
};

class RefCocoDataset : public Dataset {
 public:
  explicit RefCocoDataset(RefCocoOptions options);

  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  Sample get(int64_t index) const override;
  std::array<int64_t, 2> image_size(int64_t index) const override;
  // The COCO categories of instances.json (labels of the referred objects).
  const CategoryTable& categories() const override { return categories_; }
  std::string describe() const override;

  // Number of refs (objects) in the split; size() counts (ref, sentence) pairs.
  int64_t num_refs() const { return static_cast<int64_t>(refs_.size()); }
  // ref_id of sample `index` (what REC evaluation reports against).
  int64_t ref_id(int64_t index) const { return refs_.at(samples_.at(index).ref).ref_id; }

 private:
  struct ImageInfo {
    std::string path;  // resolved image path
    int64_t height = 0, width = 0;
  };
  struct Ref {
    int64_t ref_id = -1, ann_id = -1, image_id = -1;
    size_t record = 0;  // position in the refs list
    size_t image = 0;   // into images_
    std::array<double, 4> xywh{};
    int64_t label = 0;
    float area = 0.f;
    CocoSegmentation segm;
  };
  struct Item {
    size_t ref = 0;
    std::string sent;
  };

  RefCocoOptions options_;
  std::string refs_file_, instances_file_;
  CategoryTable categories_;
  std::vector<ImageInfo> images_;
  std::vector<Ref> refs_;
  std::vector<Item> samples_;
};

}  // namespace seer
