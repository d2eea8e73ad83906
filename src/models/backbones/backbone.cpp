#include "models/backbones/backbone.h"

#include <map>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/logging.h"
#include "models/backbones/resnet.h"
#include "models/backbones/swin.h"

namespace seer {

namespace {

using BackboneReader = BackboneSpec (*)(const ConfigSection& backbone);

const std::map<std::string, BackboneReader>& backbone_table() {
  static const std::map<std::string, BackboneReader> table = {
      {"resnet", &read_resnet_spec},
      {"swin", &read_swin_spec},
  };
  return table;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::vector<std::string> backbone_types() {
  std::vector<std::string> names;
  for (const auto& [name, reader] : backbone_table()) names.push_back(name);
  return names;
}

BackboneSpec read_backbone_spec(const ConfigSection& backbone, const std::string& default_type) {
  std::string known;
  for (const auto& n : backbone_types()) known += (known.empty() ? "" : " | ") + n;
  const auto type = backbone.get<std::string>("type", default_type, "image backbone: " + known);
  auto it = backbone_table().find(type);
  if (it == backbone_table().end())
    backbone.fail("type", "unknown backbone type '" + type + "' (known: " + known + ")");
  BackboneSpec spec = it->second(backbone);
  spec.type = type;
  return spec;
}

void load_pretrained_backbone(Backbone& backbone, const std::string& path) {
  WeightsFile file = read_weights(path);
  const StateDict own = module_state_dict(backbone);
  const auto heads = backbone.classifier_prefixes();
  const auto derived = backbone.derived_buffer_suffixes();
  const auto optional = backbone.pretrained_optional_prefixes();
  auto starts_with_any = [](const std::string& k, const std::vector<std::string>& prefixes) {
    for (const auto& p : prefixes)
      if (k.rfind(p, 0) == 0) return true;
    return false;
  };
  auto ends_with_any = [](const std::string& k, const std::vector<std::string>& suffixes) {
    for (const auto& s : suffixes)
      if (ends_with(k, s)) return true;
    return false;
  };
  StateDict kept;
  int64_t dropped = 0;
  for (const auto& item : file.tensors) {
    const std::string& k = item.key();
    const bool counter = ends_with(k, ".num_batches_tracked") && !own.contains(k);
    if (starts_with_any(k, heads) || ends_with_any(k, derived) || counter) ++dropped;
    else kept.insert(k, item.value());
  }
  // The backbone's own values stand in for what the file may lack, so that
  // the strict load still catches every other missing key.
  int64_t own_kept = 0;
  for (const auto& item : own) {
    const std::string& k = item.key();
    if (kept.contains(k) || !(ends_with_any(k, derived) || starts_with_any(k, optional))) continue;
    kept.insert(k, item.value().detach().clone());
    ++own_kept;
  }
  LoadReport report = load_state_dict(backbone, kept, /*strict=*/true, path);
  backbone.apply_freezing();
  log().info("backbone weights {}: {} ({} classifier/counter/derived tensors ignored, {} kept as built)", path,
             report.summary(), dropped, own_kept);
}

}  // namespace seer
