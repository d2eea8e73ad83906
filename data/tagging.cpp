#include "data/tagging.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "core/error.h"
#include "data/formats.h"
#include "data/image_io.h"
#include "data/record_errors.h"

namespace seer {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool is_id_list(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789 \t") == std::string::npos &&
         s.find_first_of("0123456789") != std::string::npos;
}

}  // namespace

TaggingDataset::TaggingDataset(TaggingOptions options) : options_(std::move(options)) {
  std::ifstream tl(options_.taglist, std::ios::binary);
  if (!tl) throw DataError("tag list '" + options_.taglist + "': file not found or unreadable");
  std::vector<std::string> tags;
  std::string text;
  while (std::getline(tl, text)) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    tags.push_back(text);
  }
  while (!tags.empty() && trim(tags.back()).empty()) tags.pop_back();
  std::unordered_map<std::string, int64_t> by_name;
  for (size_t k = 0; k < tags.size(); ++k) {
    categories_.add(static_cast<int64_t>(k), tags[k]);
    by_name.emplace(tags[k], static_cast<int64_t>(k));  // first wins on duplicates
  }
  if (tags.empty()) throw DataError("tag list '" + options_.taglist + "': no tags");

  std::ifstream in(options_.ann_file, std::ios::binary);
  if (!in) throw DataError("tagging annotation file '" + options_.ann_file + "': file not found or unreadable");
  RecordErrors errors(options_.ann_file, options_.on_error);
  const int64_t num_tags = categories_.size();
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (trim(text).empty()) continue;
    size_t comma = text.find(',');
    Record r;
    r.line = line;
    std::string rel = trim(text.substr(0, comma));
    std::string rest = comma == std::string::npos ? "" : text.substr(comma + 1);
    if (rel.empty()) {
      errors.report_line(line, "empty image path");
      continue;
    }
    if (std::filesystem::path(rel).extension().empty()) rel += options_.image_ext;
    r.path = resolve_data_path(options_.img_dir, rel);
    std::string problem;
    std::string trimmed = trim(rest);
    if (is_id_list(trimmed) && by_name.find(trimmed) == by_name.end()) {
      // space separated tag ids (0-based line numbers of the tag list)
      size_t p = 0;
      while (p < trimmed.size() && problem.empty()) {
        size_t q = trimmed.find_first_of(" \t", p);
        std::string tok = trimmed.substr(p, q == std::string::npos ? std::string::npos : q - p);
        p = q == std::string::npos ? trimmed.size() : trimmed.find_first_not_of(" \t", q);
        if (p == std::string::npos) p = trimmed.size();
        if (tok.empty()) continue;
        int64_t id = tok.size() > 12 ? num_tags : std::stoll(tok);
        if (id >= num_tags)
          problem = "tag id " + tok + " is out of range (the tag list has " + std::to_string(num_tags) + " tags)";
        else
          r.tags.push_back(id);
      }
    } else if (!trimmed.empty()) {
      // comma separated tag names
      size_t p = 0;
      while (p <= rest.size() && problem.empty()) {
        size_t q = rest.find(',', p);
        std::string name = trim(rest.substr(p, q == std::string::npos ? std::string::npos : q - p));
        p = q == std::string::npos ? rest.size() + 1 : q + 1;
        if (name.empty()) continue;
        auto it = by_name.find(name);
        if (it == by_name.end())
          problem = "unknown tag '" + name + "' (not in " + options_.taglist + ")";
        else
          r.tags.push_back(it->second);
      }
    }
    if (!problem.empty()) {
      errors.report_line(line, problem);
      continue;
    }
    std::sort(r.tags.begin(), r.tags.end());
    r.tags.erase(std::unique(r.tags.begin(), r.tags.end()), r.tags.end());
    records_.push_back(std::move(r));
  }
  skipped_records_ = errors.skipped();
}

std::string TaggingDataset::describe() const {
  std::string name = options_.ann_file.substr(options_.ann_file.find_last_of('/') + 1);
  return "tagging(" + name + ", " + std::to_string(records_.size()) + " images, " +
         std::to_string(categories_.size()) + " tags)";
}

Sample TaggingDataset::get(int64_t index) const {
  const Record& r = records_.at(index);
  Sample s;
  try {
    s.image = read_image_rgb(r.path);
  } catch (const DataError& e) {
    throw DataError(options_.ann_file + ":" + std::to_string(r.line) + ": " + e.what());
  }
  Target& t = s.target;
  t.tags = torch::zeros({categories_.size()}, torch::kFloat32);
  for (int64_t id : r.tags) t.tags[id] = 1.f;
  t.boxes = torch::zeros({0, 4}, torch::kFloat32);
  t.labels = torch::zeros({0}, torch::kInt64);
  t.iscrowd = torch::zeros({0}, torch::kUInt8);
  t.area = torch::zeros({0}, torch::kFloat32);
  t.image_id = index;
  t.orig_size = {s.image.rows, s.image.cols};
  t.size = t.orig_size;
  t.file_name = r.path;
  return s;
}

DatasetBuilder read_tagging_dataset(const ConfigSection& section, const DatasetContext& ctx) {
  TaggingOptions o;
  o.ann_file = resolve_data_path(ctx.root, section.require<std::string>("ann_file", "annotation txt: 'image/path,tags' per line (relative to data.root)"));
  o.taglist = resolve_data_path(ctx.root, section.require<std::string>("taglist", "tag list txt, one tag per line; line number = tag id (relative to data.root)"));
  o.img_dir = resolve_data_path(ctx.root, section.get<std::string>("img_dir", "", "image root the annotation paths are relative to (relative to data.root)"));
  o.image_ext = section.get<std::string>("image_ext", ".jpg", "appended to image paths that have no extension");
  o.on_error = ctx.on_error;
  return [o]() { return std::make_shared<TaggingDataset>(o); };
}

}  // namespace seer
