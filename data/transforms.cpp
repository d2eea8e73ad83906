#include "data/transforms.h"

#include "data/grounding_caption.h"

#include <map>

#include "core/error.h"
#include "data/transform_ops.h"

namespace seer {

void apply_transforms(const TransformList& list, Sample& sample, SampleRng& rng) {
  for (const auto& t : list) {
    t->apply(sample, rng);
    // Target::size tracks the image through resizes and crops; padding leaves it behind.
    if (!t->pads()) sample.target.size = {sample.image.rows, sample.image.cols};
  }
}

TransformList read_transforms(const ConfigSection& section, const std::string& key, const std::string& doc) {
  using Reader = std::shared_ptr<Transform> (*)(const ConfigSection&);
  // One row per transform type; the classes live in transform_ops.h.
  static const std::map<std::string, Reader> table = {
      {"color_jitter", &read_color_jitter},
      {"grounding_caption", &read_grounding_caption},
      {"normalize", &read_normalize},
      {"pad", &read_pad},
      {"random_horizontal_flip", &read_random_horizontal_flip},
      {"random_resize", &read_random_resize},
      {"random_select", &read_random_select},
      {"random_size_crop", &read_random_size_crop},
      {"resize", &read_resize},
  };
  TransformList list;
  size_t n = section.list_size(key, doc);
  for (size_t i = 0; i < n; ++i) {
    ConfigSection item = section.item(key, i);
    std::string type = item.require<std::string>("type", "transform name");
    auto it = table.find(type);
    if (it == table.end()) {
      std::vector<std::string> names;
      for (const auto& kv : table) names.push_back(kv.first);
      std::string near = nearest(type, names);
      std::string known;
      for (const auto& name : names) known += (known.empty() ? "" : ", ") + name;
      item.fail("type", "unknown transform '" + type + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                            "; known: " + known);
    }
    list.push_back(it->second(item));
  }
  return list;
}

}  // namespace seer
