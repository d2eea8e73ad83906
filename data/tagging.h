#pragma once
// RAM-style image tagging annotations (recognize-anything's benchmark files):
// a tag list (one tag per line; the line number is the tag id) and an
// annotation txt with one image per line:
//   relative/image/path,tag name,tag name      (OpenImages: names, comma separated)
//   relative/image/path,131 139 143            (HICO: 0-based ids, space separated)
//   relative/image/path                        (no tag at all)
// The form is detected per line. Each sample's Target::tags is the multi-hot
// [C] vector over the tag list; the tag list is the CategoryTable.
#include <array>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace seer {

struct TaggingOptions {
  std::string ann_file;          // resolved annotation txt
  std::string taglist;           // resolved tag list txt
  std::string img_dir;           // resolved image root
  std::string image_ext = ".jpg";  // appended to paths that have no extension
  OnError on_error = OnError::Skip;
};

class TaggingDataset : public Dataset {
 public:
  explicit TaggingDataset(TaggingOptions options);

  int64_t size() const override { return static_cast<int64_t>(records_.size()); }
  Sample get(int64_t index) const override;
  std::array<int64_t, 2> image_size(int64_t) const override { return {0, 0}; }
  const CategoryTable& categories() const override { return categories_; }
  std::string describe() const override;

  // Tag indices of sample `index` (what get() turns into the multi-hot vector).
  const std::vector<int64_t>& tag_ids(int64_t index) const { return records_.at(index).tags; }
  // Resolved image path of sample `index`.
  const std::string& image_path(int64_t index) const { return records_.at(index).path; }

 private:
  struct Record {
    int64_t line = 0;
    std::string path;
    std::vector<int64_t> tags;
  };
  TaggingOptions options_;
  CategoryTable categories_;
  std::vector<Record> records_;
};

}  // namespace seer
