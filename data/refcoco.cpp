#include "data/refcoco.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "core/logging.h"
#include "core/pickle.h"
#include "data/formats.h"
#include "data/image_io.h"
#include "data/record_errors.h"

namespace seer {

namespace {

bool json_int(const nlohmann::json& o, const char* key, int64_t& out) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return false;
  out = it->get<int64_t>();
  return true;
}

// An int field of a pickled ref dict, or false when absent / not an int.
bool py_int(const pickle::PyValue& d, const char* key, int64_t& out) {
  pickle::PyRef v = d.get(std::string(key));
  if (!v || !v->is_int()) return false;
  out = v->as_int();
  return true;
}

}  // namespace

RefCocoDataset::RefCocoDataset(RefCocoOptions options) : options_(std::move(options)) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(options_.data_dir) / options_.dataset;
  refs_file_ = (dir / ("refs(" + options_.split_by + ").p")).string();
  instances_file_ = (dir / "instances.json").string();

  // instances.json: categories, images, and the annotations refs point at.
  nlohmann::json inst = read_json_file(instances_file_, "RefCOCO instances file");
  for (const char* key : {"images", "annotations", "categories"})
    if (!inst.is_object() || !inst.contains(key) || !inst[key].is_array())
      throw DataError(instances_file_ + ": not a COCO instances json (no '" + std::string(key) + "' list)");
  RecordErrors inst_errors(instances_file_, options_.on_error);
  std::map<int64_t, std::string> cats;
  for (const auto& c : inst["categories"]) {
    int64_t id;
    if (c.is_object() && json_int(c, "id", id) && c.contains("name") && c["name"].is_string())
      cats.emplace(id, c["name"].get<std::string>());
  }
  for (const auto& kv : cats) categories_.add(kv.first, kv.second);

  std::unordered_map<int64_t, size_t> image_index;
  const auto& ji = inst["images"];
  for (size_t k = 0; k < ji.size(); ++k) {
    const auto& im = ji[k];
    int64_t id;
    if (!im.is_object() || !json_int(im, "id", id) || !im.contains("file_name") || !im["file_name"].is_string()) {
      inst_errors.report("image #" + std::to_string(k), "needs an integer 'id' and a string 'file_name'");
      continue;
    }
    ImageInfo info;
    json_int(im, "height", info.height);
    json_int(im, "width", info.width);
    // refcoco_mini and similar subsets name the folder of each image (relative to img_dir).
    std::string rel = im["file_name"].get<std::string>();
    if (im.contains("folder") && im["folder"].is_string()) rel = (fs::path(im["folder"].get<std::string>()) / rel).string();
    info.path = resolve_data_path(options_.img_dir, rel);
    image_index.emplace(id, images_.size());
    images_.push_back(std::move(info));
  }
  std::unordered_map<int64_t, const nlohmann::json*> anns;
  for (const auto& a : inst["annotations"]) {
    int64_t id;
    if (a.is_object() && json_int(a, "id", id)) anns.emplace(id, &a);
  }

  // refs(<split_by>).p
  if (!fs::is_regular_file(refs_file_)) throw DataError("RefCOCO refs file '" + refs_file_ + "': file not found");
  pickle::PyRef refs;
  try {
    refs = pickle::load_file(refs_file_);
  } catch (const RuntimeError& e) {
    throw DataError(e.what());
  }
  if (!refs->is_sequence()) throw DataError(refs_file_ + ": expected a list of refs, got " + refs->type_name());
  RecordErrors errors(refs_file_, options_.on_error);
  const auto& list = refs->as_items();
  for (size_t k = 0; k < list.size(); ++k) {
    const pickle::PyValue& r = *list[k];
    Ref ref;
    ref.record = k;
    std::string record = "ref #" + std::to_string(k);
    if (!r.is_dict() || !py_int(r, "ref_id", ref.ref_id) || !py_int(r, "ann_id", ref.ann_id) ||
        !py_int(r, "image_id", ref.image_id) || !r.get("split") || !r.get("split")->is_str()) {
      errors.report(record, "needs integer ref_id, ann_id, image_id and a string split");
      continue;
    }
    record += " (ref_id " + std::to_string(ref.ref_id) + ")";
    if (r.get("split")->as_str() != options_.split) continue;
    auto img = image_index.find(ref.image_id);
    if (img == image_index.end()) {
      errors.report(record, "unknown image id " + std::to_string(ref.image_id) + " (not in " + instances_file_ + ")");
      continue;
    }
    ref.image = img->second;
    auto ann = anns.find(ref.ann_id);
    if (ann == anns.end()) {
      errors.report(record, "unknown annotation id " + std::to_string(ref.ann_id) + " (not in " + instances_file_ + ")");
      continue;
    }
    const nlohmann::json& a = *ann->second;
    int64_t cat = -1;
    if (!json_int(a, "category_id", cat) || categories_.index_of(cat) < 0) {
      errors.report(record, "annotation " + std::to_string(ref.ann_id) + " has an unknown category id");
      continue;
    }
    ref.label = categories_.index_of(cat);
    auto bb = a.find("bbox");
    if (bb == a.end() || !bb->is_array() || bb->size() != 4 ||
        !std::all_of(bb->begin(), bb->end(), [](const nlohmann::json& v) { return v.is_number(); })) {
      errors.report(record, "annotation " + std::to_string(ref.ann_id) + ": bbox is not a list of 4 numbers");
      continue;
    }
    for (int c = 0; c < 4; ++c) ref.xywh[c] = (*bb)[c].get<double>();
    if (ref.xywh[2] < 0 || ref.xywh[3] < 0) {
      errors.report(record, "annotation " + std::to_string(ref.ann_id) + ": bbox has negative " +
                                (ref.xywh[2] < 0 ? "width" : "height"));
      continue;
    }
    ref.area = a.contains("area") && a["area"].is_number() ? a["area"].get<float>()
                                                            : static_cast<float>(ref.xywh[2] * ref.xywh[3]);
    if (options_.with_masks && a.contains("segmentation")) {
      std::string problem = ref.segm.parse(a["segmentation"]);
      if (!problem.empty()) {
        errors.report(record, "annotation " + std::to_string(ref.ann_id) + ": " + problem);
        continue;
      }
    }
    pickle::PyRef sents = r.get("sentences");
    if (!sents || !sents->is_sequence()) {
      errors.report(record, "needs a 'sentences' list");
      continue;
    }
    std::vector<Item> items;
    for (size_t s = 0; s < sents->size(); ++s) {
      pickle::PyRef sent = sents->items[s]->is_dict() ? sents->items[s]->get("sent") : nullptr;
      if (!sent || !sent->is_str() || sent->as_str().empty()) {
        errors.report(record + " sentence #" + std::to_string(s), "missing or empty 'sent'");
        continue;
      }
      items.push_back({refs_.size(), sent->as_str()});
    }
    if (items.empty()) continue;
    refs_.push_back(std::move(ref));
    samples_.insert(samples_.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
  }
  skipped_records_ = errors.skipped() + inst_errors.skipped();
}

std::array<int64_t, 2> RefCocoDataset::image_size(int64_t index) const {
  const ImageInfo& im = images_.at(refs_.at(samples_.at(index).ref).image);
  return {im.height, im.width};
}

std::string RefCocoDataset::describe() const {
  return "refcoco(" + options_.dataset + ", " + options_.split_by + ", " + options_.split + ": " +
         std::to_string(refs_.size()) + " refs, " + std::to_string(samples_.size()) + " sentences)";
}

Sample RefCocoDataset::get(int64_t index) const {
  const Item& item = samples_.at(index);
  const Ref& ref = refs_.at(item.ref);
  const ImageInfo& im = images_.at(ref.image);
  std::string record = "ref #" + std::to_string(ref.record) + " (ref_id " + std::to_string(ref.ref_id) + ")";
  Sample s;
  try {
    s.image = read_image_rgb(im.path);
  } catch (const DataError& e) {
    throw DataError(record_message(refs_file_, record, e.what()));
  }
  const int64_t h = s.image.rows, w = s.image.cols;
  Target& t = s.target;
  // xywh -> xyxy clamped to the image, as for COCO detection.
  float x1 = std::clamp(static_cast<float>(ref.xywh[0]), 0.f, static_cast<float>(w));
  float y1 = std::clamp(static_cast<float>(ref.xywh[1]), 0.f, static_cast<float>(h));
  float x2 = std::clamp(static_cast<float>(ref.xywh[0] + ref.xywh[2]), 0.f, static_cast<float>(w));
  float y2 = std::clamp(static_cast<float>(ref.xywh[1] + ref.xywh[3]), 0.f, static_cast<float>(h));
  t.boxes = torch::tensor({x1, y1, x2, y2}, torch::kFloat32).view({1, 4});
  t.labels = torch::full({1}, ref.label, torch::kInt64);
  t.iscrowd = torch::zeros({1}, torch::kUInt8);
  t.area = torch::full({1}, ref.area, torch::kFloat32);
  if (options_.with_masks) {
    std::string problem;
    std::vector<uint8_t> m = ref.segm.decode(h, w, &problem);
    if (!problem.empty()) throw DataError(record_message(refs_file_, record, problem));
    t.masks = torch::zeros({1, h, w}, torch::kUInt8);
    std::memcpy(t.masks.data_ptr<uint8_t>(), m.data(), m.size());
  }
  t.caption = item.sent;
  t.tokens_positive = {{Span{0, static_cast<int64_t>(item.sent.size())}}};
  t.image_id = ref.image_id;
  t.orig_size = {h, w};
  t.size = {h, w};
  t.file_name = im.path;
  return s;
}

DatasetBuilder read_refcoco_dataset(const ConfigSection& section, const DatasetContext& ctx) {
  RefCocoOptions o;
  o.data_dir = resolve_data_path(ctx.root, section.require<std::string>("data_dir", "folder holding <dataset>/refs(<split_by>).p and <dataset>/instances.json (relative to data.root)"));
  o.dataset = section.get<std::string>("dataset", "refcoco", "refcoco | refcoco+ | refcocog");
  if (o.dataset != "refcoco" && o.dataset != "refcoco+" && o.dataset != "refcocog")
    section.fail("dataset", "expected refcoco, refcoco+ or refcocog, got '" + o.dataset + "'");
  o.split_by = section.get<std::string>("split_by", o.dataset == "refcocog" ? "umd" : "unc",
                                        "annotation split: unc (refcoco, refcoco+), umd or google (refcocog)");
  if (o.split_by != "unc" && o.split_by != "umd" && o.split_by != "google")
    section.fail("split_by", "expected unc, umd or google, got '" + o.split_by + "'");
  o.split = section.get<std::string>("split", ctx.split.empty() ? "train" : ctx.split,
                                     "train | val | testA | testB | test");
  static const char* splits[] = {"train", "val", "testA", "testB", "test"};
  if (std::none_of(std::begin(splits), std::end(splits), [&](const char* s) { return o.split == s; }))
    section.fail("split", "expected train, val, testA, testB or test, got '" + o.split + "'");
  o.img_dir = resolve_data_path(ctx.root, section.get<std::string>("img_dir", "", "COCO image root; an image's optional 'folder' and its file_name are relative to it (relative to data.root)"));
  o.with_masks = section.get<bool>("with_masks", false, "decode the referred object's mask (RES)");
  o.on_error = ctx.on_error;
  return [o]() { return std::make_shared<RefCocoDataset>(o); };
}

}  // namespace seer
