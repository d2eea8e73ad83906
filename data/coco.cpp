#include "data/coco.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "core/logging.h"
#include "data/formats.h"
#include "data/image_io.h"
#include "data/record_errors.h"

namespace seer {

namespace {

std::string ann_record(size_t k, int64_t id) {
  return "annotation #" + std::to_string(k) + (id >= 0 ? " (id " + std::to_string(id) + ")" : "");
}

std::string ann_record(size_t k, const nlohmann::json& a) {
  auto id = a.is_object() ? a.find("id") : a.end();
  return ann_record(k, id != a.end() && id->is_number_integer() ? id->get<int64_t>() : -1);
}

std::string image_record(size_t k, int64_t id) {
  return "image #" + std::to_string(k) + (id >= 0 ? " (id " + std::to_string(id) + ")" : "");
}

bool get_int(const nlohmann::json& o, const char* key, int64_t& out) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return false;
  out = it->get<int64_t>();
  return true;
}

}  // namespace

CocoDataset::CocoDataset(CocoOptions options) : options_(std::move(options)) {
  const std::string& file = options_.ann_file;
  nlohmann::json j = read_json_file(file, "COCO annotation file");
  if (!j.is_object()) throw DataError(file + ": not a COCO instances json (top level is not an object)");
  for (const char* key : {"images", "categories"})
    if (!j.contains(key) || !j[key].is_array())
      throw DataError(file + ": not a COCO instances json (no '" + std::string(key) + "' list)");
  RecordErrors errors(file, options_.on_error);

  // Categories: contiguous labels in ascending id order.
  std::map<int64_t, std::string> cats;
  const auto& jc = j["categories"];
  for (size_t k = 0; k < jc.size(); ++k) {
    const auto& c = jc[k];
    int64_t id = -1;
    std::string record = "category #" + std::to_string(k);
    if (!c.is_object() || !get_int(c, "id", id) || !c.contains("name") || !c["name"].is_string()) {
      errors.report(record, "needs an integer 'id' and a string 'name'");
      continue;
    }
    if (!cats.emplace(id, c["name"].get<std::string>()).second)
      errors.report(record + " (id " + std::to_string(id) + ")", "duplicate category id");
  }
  for (const auto& kv : cats) categories_.add(kv.first, kv.second);

  // Images.
  std::unordered_map<int64_t, size_t> image_index;
  const auto& ji = j["images"];
  for (size_t k = 0; k < ji.size(); ++k) {
    const auto& im = ji[k];
    Image img;
    img.record = k;
    if (!im.is_object() || !get_int(im, "id", img.id)) {
      errors.report(image_record(k, -1), "needs an integer 'id'");
      continue;
    }
    if (!im.contains("file_name") || !im["file_name"].is_string()) {
      errors.report(image_record(k, img.id), "needs a string 'file_name'");
      continue;
    }
    img.file_name = im["file_name"].get<std::string>();
    get_int(im, "height", img.height);
    get_int(im, "width", img.width);
    if (!image_index.emplace(img.id, images_.size()).second) {
      errors.report(image_record(k, img.id), "duplicate image id");
      continue;
    }
    images_.push_back(std::move(img));
  }

  // Annotations (absent in image-info-only files such as COCO test-dev).
  if (j.contains("annotations")) {
    const auto& ja = j["annotations"];
    if (!ja.is_array()) throw DataError(file + ": 'annotations' is not a list");
    for (size_t k = 0; k < ja.size(); ++k) {
      const auto& a = ja[k];
      std::string record = ann_record(k, a);
      Annotation ann;
      ann.record = k;
      int64_t image_id = -1, cat_id = -1;
      if (!a.is_object() || !get_int(a, "image_id", image_id)) {
        errors.report(record, "needs an integer 'image_id'");
        continue;
      }
      get_int(a, "id", ann.id);
      auto img = image_index.find(image_id);
      if (img == image_index.end()) {
        errors.report(record, "unknown image id " + std::to_string(image_id));
        continue;
      }
      if (!get_int(a, "category_id", cat_id) || categories_.index_of(cat_id) < 0) {
        errors.report(record, a.contains("category_id") ? "unknown category id " + a["category_id"].dump()
                                                         : "needs an integer 'category_id'");
        continue;
      }
      ann.label = categories_.index_of(cat_id);
      auto bb = a.find("bbox");
      if (bb == a.end() || !bb->is_array() || bb->size() != 4 ||
          !std::all_of(bb->begin(), bb->end(), [](const nlohmann::json& v) { return v.is_number(); })) {
        errors.report(record, "bbox is not a list of 4 numbers");
        continue;
      }
      for (int c = 0; c < 4; ++c) ann.xywh[c] = (*bb)[c].get<double>();
      if (ann.xywh[2] < 0 || ann.xywh[3] < 0) {
        errors.report(record, ann.xywh[2] < 0 ? "bbox has negative width" : "bbox has negative height");
        continue;
      }
      int64_t crowd = 0;
      get_int(a, "iscrowd", crowd);
      ann.iscrowd = crowd ? 1 : 0;
      auto ar = a.find("area");
      ann.area = static_cast<float>(ar != a.end() && ar->is_number() ? ar->get<double>() : ann.xywh[2] * ann.xywh[3]);
      if (options_.with_masks && a.contains("segmentation")) {
        std::string problem = ann.segm.parse(a["segmentation"]);
        if (!problem.empty()) {
          errors.report(record, problem);
          continue;
        }
      }
      images_[img->second].anns.push_back(std::move(ann));
    }
  }
  skipped_records_ = errors.skipped();

  // torchvision's CocoDetection (what DETR reads COCO with) orders images by id.
  std::sort(images_.begin(), images_.end(), [](const Image& a, const Image& b) { return a.id < b.id; });

  if (options_.filter_empty) {
    // An image is worth training on when one non-crowd box survives clamping.
    auto usable = [](const Image& im) {
      for (const auto& a : im.anns) {
        if (a.iscrowd) continue;
        double w = im.width > 0 ? static_cast<double>(im.width) : 1e300;
        double h = im.height > 0 ? static_cast<double>(im.height) : 1e300;
        double x1 = std::clamp(a.xywh[0], 0.0, w), x2 = std::clamp(a.xywh[0] + a.xywh[2], 0.0, w);
        double y1 = std::clamp(a.xywh[1], 0.0, h), y2 = std::clamp(a.xywh[1] + a.xywh[3], 0.0, h);
        if (x2 > x1 && y2 > y1) return true;
      }
      return false;
    };
    size_t before = images_.size();
    images_.erase(std::remove_if(images_.begin(), images_.end(), [&](const Image& im) { return !usable(im); }),
                  images_.end());
    if (before != images_.size())
      log().info("{}: filter_empty dropped {} of {} images without a non-crowd box", file, before - images_.size(),
                 before);
  }
}

std::array<int64_t, 2> CocoDataset::image_size(int64_t index) const {
  const Image& im = images_.at(index);
  return {im.height, im.width};
}

std::string CocoDataset::describe() const {
  std::string name = options_.ann_file.substr(options_.ann_file.find_last_of('/') + 1);
  return "coco(" + name + ", " + std::to_string(images_.size()) + " images, " + std::to_string(categories_.size()) +
         " classes)";
}

Sample CocoDataset::get(int64_t index) const {
  const Image& im = images_.at(index);
  std::string record = image_record(im.record, im.id);
  Sample s;
  std::string path = resolve_data_path(options_.img_dir, im.file_name);
  try {
    s.image = read_image_rgb(path);
  } catch (const DataError& e) {
    throw DataError(record_message(options_.ann_file, record, e.what()));
  }
  const int64_t h = s.image.rows, w = s.image.cols;

  // DETR's ConvertCocoPolysToMask: xywh -> xyxy, clamp to the image, keep x2 > x1 and y2 > y1.
  std::vector<float> boxes;
  std::vector<int64_t> labels;
  std::vector<uint8_t> crowd;
  std::vector<float> area;
  std::vector<const Annotation*> kept;
  for (const auto& a : im.anns) {
    float x1 = std::clamp(static_cast<float>(a.xywh[0]), 0.f, static_cast<float>(w));
    float y1 = std::clamp(static_cast<float>(a.xywh[1]), 0.f, static_cast<float>(h));
    float x2 = std::clamp(static_cast<float>(a.xywh[0] + a.xywh[2]), 0.f, static_cast<float>(w));
    float y2 = std::clamp(static_cast<float>(a.xywh[1] + a.xywh[3]), 0.f, static_cast<float>(h));
    if (!(x2 > x1 && y2 > y1)) continue;
    boxes.insert(boxes.end(), {x1, y1, x2, y2});
    labels.push_back(a.label);
    crowd.push_back(a.iscrowd);
    area.push_back(a.area);
    kept.push_back(&a);
  }
  const int64_t n = static_cast<int64_t>(labels.size());
  Target& t = s.target;
  t.boxes = torch::from_blob(boxes.data(), {n, 4}, torch::kFloat32).clone();
  t.labels = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
  t.iscrowd = torch::from_blob(crowd.data(), {n}, torch::kUInt8).clone();
  t.area = torch::from_blob(area.data(), {n}, torch::kFloat32).clone();
  if (options_.with_masks) {
    t.masks = torch::zeros({n, h, w}, torch::kUInt8);
    for (int64_t k = 0; k < n; ++k) {
      std::string problem;
      std::vector<uint8_t> m = kept[k]->segm.decode(h, w, &problem);
      if (!problem.empty())
        throw DataError(record_message(options_.ann_file, ann_record(kept[k]->record, kept[k]->id), problem));
      std::memcpy(t.masks[k].data_ptr<uint8_t>(), m.data(), m.size());
    }
  }
  t.image_id = im.id;
  t.orig_size = {h, w};
  t.size = {h, w};
  t.file_name = path;
  return s;
}

DatasetBuilder read_coco_dataset(const ConfigSection& section, const DatasetContext& ctx) {
  CocoOptions o;
  o.ann_file = resolve_data_path(ctx.root, section.require<std::string>("ann_file", "COCO instances json (relative to data.root)"));
  o.img_dir = resolve_data_path(ctx.root, section.get<std::string>("img_dir", "", "image folder; file_name is relative to it (relative to data.root)"));
  o.with_masks = section.get<bool>("with_masks", false, "decode segmentation polygons/RLE into instance masks");
  o.filter_empty = section.get<bool>("filter_empty", false, "drop images without any non-crowd box (training sets)");
  o.on_error = ctx.on_error;
  return [o]() { return std::make_shared<CocoDataset>(o); };
}

}  // namespace seer
