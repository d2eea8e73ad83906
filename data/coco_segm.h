#pragma once
// A COCO annotation's `segmentation` value, kept undecoded until an image is
// loaded (decoding every mask up front would cost memory for nothing).
// Shared by the COCO and RefCOCO readers.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace seer {

struct CocoSegmentation {
  enum class Kind { None, Polygons, RleString, RleCounts };
  Kind kind = Kind::None;
  std::vector<std::vector<double>> polygons;  // [x0,y0,x1,y1,...] each
  std::string counts_str;                     // compressed RLE ("counts": "...")
  std::vector<uint32_t> counts;               // uncompressed RLE ("counts": [ints])
  int64_t h = 0, w = 0;                       // RLE "size": [h, w]

  // Parse a json `segmentation`; returns "" or what is wrong with it.
  std::string parse(const nlohmann::json& j);
  // Row-major [h*w] 0/1 mask in an image of h x w pixels. Several polygons are
  // united, as pycocotools' frPyObjects + merge do (DETR's convert_coco_poly_to_mask).
  // An RLE whose size differs from the image is an error (returned as a message
  // through `error`, mask left empty).
  std::vector<uint8_t> decode(int64_t h, int64_t w, std::string* error) const;
};

}  // namespace seer
