#pragma once
// ODVG jsonl (Open-GroundingDino's "object detection + visual grounding" format;
// see shared/data/grounding/odvg_derived/data_format.md): one json object per
// line with `filename`, `height`, `width` and either
//   detection: {instances: [{bbox: [x1,y1,x2,y2], label, category}]}  (with a label map), or
//   grounding: {caption, regions: [{bbox, phrase, tokens_positive?}]}.
//
// Both become text-conditioned targets: a caption plus, per box, the character
// spans of its phrase in the caption (Target::tokens_positive).
#include <array>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/grounded_box.h"

namespace seer {

struct OdvgOptions {
  std::string ann_file;   // resolved .jsonl path
  std::string img_dir;    // resolved image root; `filename` is relative to it
  std::string label_map;  // resolved label-map json ({"0": "person", ...}), "" = none
  OnError on_error = OnError::Skip;
};

class OdvgDataset : public Dataset {
 public:
  explicit OdvgDataset(OdvgOptions options);

  int64_t size() const override { return static_cast<int64_t>(records_.size()); }
  Sample get(int64_t index) const override;
  std::array<int64_t, 2> image_size(int64_t index) const override;
  // The label map for detection records (empty for grounding-only files).
  const CategoryTable& categories() const override { return categories_; }
  std::string describe() const override;

 private:
  using Box = GroundedBox;  // label: detection: category index; grounding: index of the distinct phrase
  struct Record {
    int64_t line = 0;  // 1-based line in the jsonl
    std::string filename;
    int64_t height = 0, width = 0;
    bool grounding = false;
    std::string caption;
    std::vector<Box> boxes;
  };
  // Parse one line into `out` (detection labels still raw label-map ids);
  // returns "" or what is wrong with it.
  std::string parse_record(const std::string& text, Record& out);
  // Detection records: raw ids -> contiguous labels, caption and spans.
  void finish_detection(Record& r) const;

  OdvgOptions options_;
  CategoryTable categories_;
  std::map<int64_t, std::string> derived_names_;  // no label map: the records' label -> category
  std::vector<Record> records_;
  int64_t detection_records_ = 0, grounding_records_ = 0;
};

}  // namespace seer
