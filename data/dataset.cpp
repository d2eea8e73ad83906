#include "data/dataset.h"

#include <filesystem>
#include <map>

#include "core/error.h"
#include "data/formats.h"

namespace seer {

OnError parse_on_error(const std::string& s) {
  if (s == "skip") return OnError::Skip;
  if (s == "fail") return OnError::Fail;
  throw ConfigError("data.on_error: expected 'skip' or 'fail', got '" + s + "'");
}

DatasetBuilder read_dataset(const ConfigSection& section, const DatasetContext& ctx) {
  // One row per on-disk format (DESIGN.md §5); each reader lives in its own file.
  static const std::map<std::string, DatasetBuilder (*)(const ConfigSection&, const DatasetContext&)> table = {
      // SEER_DATASET_TABLE: readers add their row here
      {"coco", &read_coco_dataset},
      {"odvg", &read_odvg_dataset},
      {"flickr30k_entities", &read_flickr30k_dataset},
      {"refcoco", &read_refcoco_dataset},
      {"tagging", &read_tagging_dataset},
      {"synthetic", &read_synthetic_dataset},
  };
  std::string type = section.get<std::string>("type", "synthetic", "dataset format");
  auto it = table.find(type);
  if (it == table.end()) {
    std::vector<std::string> names;
    std::string known;
    for (const auto& kv : table) {
      names.push_back(kv.first);
      known += (known.empty() ? "" : ", ") + kv.first;
    }
    std::string near = nearest(type, names);
    section.fail("type", "unknown dataset type '" + type + "'" +
                             (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; known: " + known);
  }
  return it->second(section, ctx);
}

}  // namespace seer
