// The table of model families: `model.type` -> the reader of its config.
#include <map>

#include "core/error.h"
#include "models/detr/detr.h"
#include "models/grounding_dino/grounding_dino.h"
#include "models/model.h"

namespace seer {

namespace {
using SpecReader = ModelSpec (*)(const ConfigSection& root);
const std::map<std::string, SpecReader>& families() {
  static const std::map<std::string, SpecReader> table = {
      {"detr", &read_detr_spec},
      {"grounding_dino", &read_grounding_dino_spec},
  };
  return table;
}
}  // namespace

void Model::set_export_prompt(const std::string& text) {
  if (!text.empty()) throw UsageError("--text: the '" + family() + "' model takes no text prompt");
}

std::vector<std::string> model_families() {
  std::vector<std::string> names;
  for (const auto& [name, reader] : families()) names.push_back(name);
  return names;
}

ModelSpec read_model_spec(const ConfigSection& root) {
  ConfigSection model = root.sub("model");
  std::string type = model.require<std::string>("type", "model family: one of detr, grounding_dino");
  auto it = families().find(type);
  if (it == families().end()) {
    std::string known;
    for (const auto& n : model_families()) known += (known.empty() ? "" : ", ") + n;
    model.fail("type", "unknown model family '" + type + "' (known: " + known + ")");
  }
  ModelSpec spec = it->second(root);
  spec.type = type;
  spec.strict_load = model.get<bool>(
      "strict_load", true, "refuse weights with missing, unexpected or shape-mismatched keys (false: skip and list them)");
  spec.weights = model.get<std::string>(
      "weights", "", "weights to start from: official .pth/.pt, .safetensors or a seer checkpoint ('' = none)");
  return spec;
}

}  // namespace seer
