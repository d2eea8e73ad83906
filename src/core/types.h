#pragma once
// The data contract (DESIGN.md §2): everything that crosses a wall between
// data/, models/, losses/, eval/ and train/ is one of these plain structs.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace seer {

// A half-open character range [begin, end) in a caption (bytes of UTF-8).
struct Span {
  int64_t begin = 0;
  int64_t end = 0;
  bool operator==(const Span& o) const { return begin == o.begin && end == o.end; }
};

// One image's ground truth, in pixels of the CURRENT image (after transforms).
struct Target {
  torch::Tensor boxes;    // [N,4] float32 xyxy pixels
  torch::Tensor labels;   // [N] int64 contiguous class index
  torch::Tensor masks;    // [N,H,W] uint8, undefined when the dataset has none
  torch::Tensor iscrowd;  // [N] uint8 (1 = crowd region; losses ignore it, COCO eval uses it)
  torch::Tensor area;     // [N] float32 annotation area (COCO 'area'), scaled with the image
  std::string caption;    // text prompt or referring expression ("" when none)
  std::vector<std::vector<Span>> tokens_positive;  // per box: character spans in caption
  torch::Tensor tags;     // [C] float32 multi-hot, undefined when the dataset has none
  int64_t image_id = -1;
  std::array<int64_t, 2> orig_size{0, 0};  // (h, w) of the image on disk
  std::array<int64_t, 2> size{0, 0};       // (h, w) after transforms, before padding
  std::string file_name;                   // path of the image, for messages and visualisation

  int64_t num_boxes() const { return boxes.defined() ? boxes.size(0) : 0; }
};

// A collated batch: images zero-padded bottom/right to the largest in the batch.
struct Batch {
  torch::Tensor images;    // [B,3,H,W] float32, normalised
  torch::Tensor pad_mask;  // [B,H,W] bool, true = padding
  std::vector<Target> targets;

  int64_t size() const { return static_cast<int64_t>(targets.size()); }
};

// One image's prediction, in ORIGINAL image pixels.
struct Prediction {
  torch::Tensor boxes;   // [K,4] float32 xyxy
  torch::Tensor scores;  // [K] float32
  torch::Tensor labels;  // [K] int64 contiguous class index
  torch::Tensor masks;   // [K,H,W] optional
  std::vector<std::string> phrases;  // grounding: the phrase of each box
  torch::Tensor tag_scores;          // [C] tagging
  int64_t image_id = -1;
};

// Ordered name -> scalar loss, each already multiplied by its weight.
using LossDict = torch::OrderedDict<std::string, torch::Tensor>;

// Contiguous class index <-> (original dataset id, name).
struct CategoryTable {
  std::vector<int64_t> ids;        // ids[i] = dataset category id of class i
  std::vector<std::string> names;  // names[i] = name of class i

  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  void add(int64_t id, const std::string& name) {
    index_of_id_[id] = size();
    ids.push_back(id);
    names.push_back(name);
  }
  // Contiguous index of a dataset id, or -1 when unknown.
  int64_t index_of(int64_t id) const {
    auto it = index_of_id_.find(id);
    return it == index_of_id_.end() ? -1 : it->second;
  }

 private:
  std::unordered_map<int64_t, int64_t> index_of_id_;
};

}  // namespace seer
