#include "data/coco_segm.h"

#include "ops/coco_mask.h"

namespace seer {

std::string CocoSegmentation::parse(const nlohmann::json& j) {
  *this = CocoSegmentation();
  if (j.is_null()) return "";
  if (j.is_array()) {
    kind = Kind::Polygons;
    for (const auto& poly : j) {
      if (!poly.is_array()) return "segmentation polygon is not a list of numbers";
      std::vector<double> xy;
      xy.reserve(poly.size());
      for (const auto& v : poly) {
        if (!v.is_number()) return "segmentation polygon is not a list of numbers";
        xy.push_back(v.get<double>());
      }
      if (xy.size() % 2) return "segmentation polygon has an odd number of coordinates";
      polygons.push_back(std::move(xy));
    }
    return "";
  }
  if (j.is_object()) {
    auto size = j.find("size");
    auto cnt = j.find("counts");
    if (size == j.end() || cnt == j.end() || !size->is_array() || size->size() != 2 || !(*size)[0].is_number_integer() ||
        !(*size)[1].is_number_integer())
      return "segmentation RLE needs 'size': [h, w] and 'counts'";
    h = (*size)[0].get<int64_t>();
    w = (*size)[1].get<int64_t>();
    if (h < 0 || w < 0) return "segmentation RLE has a negative size";
    if (cnt->is_string()) {
      kind = Kind::RleString;
      counts_str = cnt->get<std::string>();
      return "";
    }
    if (cnt->is_array()) {
      kind = Kind::RleCounts;
      uint64_t total = 0;
      for (const auto& v : *cnt) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0) return "segmentation RLE counts are not non-negative integers";
        counts.push_back(static_cast<uint32_t>(v.get<int64_t>()));
        total += counts.back();
      }
      if (total != static_cast<uint64_t>(h * w)) return "segmentation RLE counts do not sum to h*w";
      return "";
    }
    return "segmentation RLE 'counts' is neither a string nor a list";
  }
  return "segmentation is neither a polygon list nor an RLE object";
}

std::vector<uint8_t> CocoSegmentation::decode(int64_t ih, int64_t iw, std::string* error) const {
  switch (kind) {
    case Kind::None: return std::vector<uint8_t>(static_cast<size_t>(ih * iw), 0);
    case Kind::Polygons: {
      if (polygons.empty()) return std::vector<uint8_t>(static_cast<size_t>(ih * iw), 0);
      std::vector<rle::Rle> parts;
      for (const auto& xy : polygons) parts.push_back(rle::from_polygon(xy, ih, iw));
      return rle::decode(parts.size() == 1 ? parts[0] : rle::merge(parts, false));
    }
    case Kind::RleString:
    case Kind::RleCounts: {
      if (h != ih || w != iw) {
        if (error)
          *error = "segmentation RLE size " + std::to_string(h) + "x" + std::to_string(w) + " differs from the image's " +
                   std::to_string(ih) + "x" + std::to_string(iw);
        return {};
      }
      return rle::decode(kind == Kind::RleString ? rle::from_string(counts_str, h, w) : rle::from_counts(counts, h, w));
    }
  }
  return {};
}

}  // namespace seer
