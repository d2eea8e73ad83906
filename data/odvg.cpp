#include "data/odvg.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/logging.h"
#include "data/formats.h"
#include "data/grounded_box.h"
#include "data/image_io.h"
#include "data/record_errors.h"

namespace seer {

namespace {

bool read_box(const nlohmann::json& j, std::array<float, 4>& xyxy, std::string& problem) {
  if (!j.is_array() || j.size() != 4 ||
      !std::all_of(j.begin(), j.end(), [](const nlohmann::json& v) { return v.is_number(); })) {
    problem = "bbox is not a list of 4 numbers";
    return false;
  }
  for (int c = 0; c < 4; ++c) xyxy[c] = j[c].get<float>();
  if (xyxy[2] < xyxy[0] || xyxy[3] < xyxy[1]) {
    problem = xyxy[2] < xyxy[0] ? "bbox has negative width" : "bbox has negative height";
    return false;
  }
  return true;
}

// Byte offset of `needle` in `hay`, trying an exact match first and then a
// case-insensitive one (phrases are sometimes capitalised differently).
int64_t find_phrase(const std::string& hay, const std::string& needle) {
  if (needle.empty()) return -1;
  size_t p = hay.find(needle);
  if (p != std::string::npos) return static_cast<int64_t>(p);
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  p = lower(hay).find(lower(needle));
  return p == std::string::npos ? -1 : static_cast<int64_t>(p);
}

}  // namespace

std::string OdvgDataset::parse_record(const std::string& text, Record& r) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return std::string("malformed json: ") + e.what();
  }
  if (!j.is_object()) return "record is not a json object";
  if (!j.contains("filename") || !j["filename"].is_string()) return "needs a string 'filename'";
  r.filename = j["filename"].get<std::string>();
  if (j.contains("height") && j["height"].is_number()) r.height = j["height"].get<int64_t>();
  if (j.contains("width") && j["width"].is_number()) r.width = j["width"].get<int64_t>();
  bool has_det = j.contains("detection") && j["detection"].is_object();
  bool has_vg = j.contains("grounding") && j["grounding"].is_object();
  // Open-GroundingDino decides by the dataset (label map given -> detection);
  // we decide per record the same way, so mixed files also work.
  r.grounding = has_vg && !(has_det && !options_.label_map.empty());
  if (!has_det && !has_vg) return "has neither 'detection' nor 'grounding'";
  std::string problem;

  if (r.grounding) {
    const auto& g = j["grounding"];
    if (!g.contains("caption") || !g["caption"].is_string()) return "grounding needs a string 'caption'";
    r.caption = g["caption"].get<std::string>();
    if (r.caption.empty()) return "empty caption";
    if (!g.contains("regions") || !g["regions"].is_array()) return "grounding needs a 'regions' list";
    std::vector<std::string> phrases;  // distinct, in order of appearance
    const auto& regions = g["regions"];
    for (size_t k = 0; k < regions.size(); ++k) {
      const auto& reg = regions[k];
      std::string where = "region #" + std::to_string(k) + ": ";
      Box b;
      if (!reg.is_object() || !reg.contains("bbox")) return where + "needs a 'bbox'";
      if (!read_box(reg["bbox"], b.xyxy, problem)) return where + problem;
      std::string phrase = reg.contains("phrase") && reg["phrase"].is_string() ? reg["phrase"].get<std::string>() : "";
      if (reg.contains("tokens_positive") && reg["tokens_positive"].is_array() && !reg["tokens_positive"].empty()) {
        for (const auto& sp : reg["tokens_positive"]) {
          if (!sp.is_array() || sp.size() != 2 || !sp[0].is_number_integer() || !sp[1].is_number_integer())
            return where + "tokens_positive is not a list of [begin, end] pairs";
          Span s{sp[0].get<int64_t>(), sp[1].get<int64_t>()};
          if (s.begin < 0 || s.end < s.begin || s.end > static_cast<int64_t>(r.caption.size()))
            return where + "tokens_positive [" + std::to_string(s.begin) + ", " + std::to_string(s.end) +
                   "] lies outside the caption";
          b.spans.push_back(s);
        }
      } else {
        int64_t at = find_phrase(r.caption, phrase);
        if (at < 0) return where + "phrase '" + phrase + "' does not occur in the caption";
        b.spans.push_back({at, at + static_cast<int64_t>(phrase.size())});
      }
      // As Open-GroundingDino's VG branch: one label per distinct phrase.
      auto it = std::find(phrases.begin(), phrases.end(), phrase);
      b.label = it - phrases.begin();
      if (it == phrases.end()) phrases.push_back(phrase);
      r.boxes.push_back(std::move(b));
    }
    return "";
  }

  const auto& d = j["detection"];
  if (!d.contains("instances") || !d["instances"].is_array()) return "detection needs an 'instances' list";
  const auto& inst = d["instances"];
  for (size_t k = 0; k < inst.size(); ++k) {
    const auto& o = inst[k];
    std::string where = "instance #" + std::to_string(k) + ": ";
    Box b;
    if (!o.is_object() || !o.contains("bbox")) return where + "needs a 'bbox'";
    if (!read_box(o["bbox"], b.xyxy, problem)) return where + problem;
    if (!o.contains("label") || !o["label"].is_number_integer()) return where + "needs an integer 'label'";
    b.label = o["label"].get<int64_t>();
    if (options_.label_map.empty()) {
      if (!o.contains("category") || !o["category"].is_string())
        return where + "needs a string 'category' (no label_map given)";
      derived_names_.emplace(b.label, o["category"].get<std::string>());
    } else if (categories_.index_of(b.label) < 0) {
      return where + "label " + std::to_string(b.label) + " is not in the label map " + options_.label_map;
    }
    r.boxes.push_back(std::move(b));
  }
  return "";
}

void OdvgDataset::finish_detection(Record& r) const {
  // Open-GroundingDino (datasets/odvg.py, OD branch) prompts with the category
  // names joined as "name . name . name ." (' . '.join(names) + ' .'), each box
  // pointing at its name. It also adds random negative names up to max_labels
  // and shuffles them per draw; that randomness belongs to a transform, so the
  // reader gives the deterministic part: the positive names once each, in
  // label order.
  std::vector<int64_t> present;
  for (auto& b : r.boxes) {
    b.label = categories_.index_of(b.label);
    present.push_back(b.label);
  }
  std::sort(present.begin(), present.end());
  present.erase(std::unique(present.begin(), present.end()), present.end());
  std::vector<Span> span_of(static_cast<size_t>(categories_.size()));
  r.caption.clear();
  for (int64_t c : present) {
    if (!r.caption.empty()) r.caption += " . ";
    int64_t begin = static_cast<int64_t>(r.caption.size());
    r.caption += categories_.names[c];
    span_of[c] = {begin, static_cast<int64_t>(r.caption.size())};
  }
  if (!r.caption.empty()) r.caption += " .";
  for (auto& b : r.boxes) b.spans = {span_of[b.label]};
}

OdvgDataset::OdvgDataset(OdvgOptions options) : options_(std::move(options)) {
  if (!options_.label_map.empty()) {
    nlohmann::json lm = read_json_file(options_.label_map, "ODVG label map");
    if (!lm.is_object()) throw DataError(options_.label_map + ": label map is not a json object {\"0\": name, ...}");
    std::map<int64_t, std::string> names;
    for (auto it = lm.begin(); it != lm.end(); ++it) {
      size_t used = 0;
      int64_t id = -1;
      try {
        id = std::stoll(it.key(), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != it.key().size() || !it.value().is_string())
        throw DataError(options_.label_map + ": entry '" + it.key() + "' is not \"<integer id>\": \"<name>\"");
      names[id] = it.value().get<std::string>();
    }
    for (const auto& kv : names) categories_.add(kv.first, kv.second);
  }

  std::ifstream in(options_.ann_file, std::ios::binary);
  if (!in) throw DataError("ODVG annotation file '" + options_.ann_file + "': file not found or unreadable");
  RecordErrors errors(options_.ann_file, options_.on_error);
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    Record r;
    r.line = line;
    std::string problem = parse_record(text, r);
    if (!problem.empty()) {
      errors.report_line(line, problem);
      continue;
    }
    records_.push_back(std::move(r));
  }
  if (options_.label_map.empty())
    for (const auto& kv : derived_names_) categories_.add(kv.first, kv.second);
  for (auto& r : records_) {
    if (r.grounding) {
      ++grounding_records_;
    } else {
      finish_detection(r);
      ++detection_records_;
    }
  }
  skipped_records_ = errors.skipped();
}

std::array<int64_t, 2> OdvgDataset::image_size(int64_t index) const {
  const Record& r = records_.at(index);
  return {r.height, r.width};
}

std::string OdvgDataset::describe() const {
  std::string name = options_.ann_file.substr(options_.ann_file.find_last_of('/') + 1);
  return "odvg(" + name + ", " + std::to_string(detection_records_) + " detection + " +
         std::to_string(grounding_records_) + " grounding records)";
}

Sample OdvgDataset::get(int64_t index) const {
  const Record& r = records_.at(index);
  Sample s;
  std::string path = resolve_data_path(options_.img_dir, r.filename);
  try {
    s.image = read_image_rgb(path);
  } catch (const DataError& e) {
    throw DataError(options_.ann_file + ":" + std::to_string(r.line) + ": " + e.what());
  }
  const float h = static_cast<float>(s.image.rows), w = static_cast<float>(s.image.cols);
  Target& t = s.target;
  set_grounded_boxes(t, r.boxes, w, h);  // clamped; boxes left empty dropped with their spans
  t.caption = r.caption;
  t.image_id = index;
  t.orig_size = {s.image.rows, s.image.cols};
  t.size = t.orig_size;
  t.file_name = path;
  return s;
}

DatasetBuilder read_odvg_dataset(const ConfigSection& section, const DatasetContext& ctx) {
  OdvgOptions o;
  o.ann_file = resolve_data_path(ctx.root, section.require<std::string>("ann_file", "ODVG .jsonl annotation file (relative to data.root)"));
  o.img_dir = resolve_data_path(ctx.root, section.get<std::string>("img_dir", "", "image root; each record's filename is relative to it (relative to data.root)"));
  std::string lm = section.get<std::string>("label_map", "", "label map json {\"0\": name, ...} for detection records ('' = derive from the records)");
  o.label_map = lm.empty() ? "" : resolve_data_path(ctx.root, lm);
  o.on_error = ctx.on_error;
  return [o]() { return std::make_shared<OdvgDataset>(o); };
}

}  // namespace seer
