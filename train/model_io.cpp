#include "train/model_io.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/logging.h"

namespace seer {

LoadReport load_model_weights(Model& model, const std::string& path, bool strict) {
  if (!std::filesystem::exists(path)) throw UsageError("--weights: no such file '" + path + "'");
  // A seer checkpoint of a run with train.ema holds both; the average is what the
  // run evaluated and chose best.pt by.
  return load_model_weights(model, read_weights(path, "ema"), path, strict);
}

std::string guess_family(const StateDict& tensors) {
  // Keys only one family's official checkpoints hold.
  if (tensors.contains("transformer.encoder.fusion_layers.0.gamma_v") || tensors.contains("feat_map.weight"))
    return "grounding_dino";
  if (tensors.contains("query_embed.weight") && tensors.contains("class_embed.weight")) return "detr";
  return "";
}

LoadReport load_model_weights(Model& model, const WeightsFile& file, const std::string& path, bool strict) {
  auto fam = file.metadata.find("family");
  if (fam != file.metadata.end() && !fam->second.empty() && fam->second != model.family())
    throw RuntimeError(path + ": a '" + fam->second + "' checkpoint cannot be loaded into the config's '" +
                       model.family() + "' model");
  if (fam == file.metadata.end() || fam->second.empty()) {
    const std::string guess = guess_family(file.tensors);
    if (!guess.empty() && guess != model.family())
      throw RuntimeError(path + ": its tensor names are those of an official '" + guess +
                         "' checkpoint; the config's model is '" + model.family() + "'");
  }
  // Keys the official loader itself ignores (e.g. buffers of the text encoder).
  const auto ignored = model.ignored_weight_keys();
  const StateDict* tensors = &file.tensors;
  StateDict kept;
  if (!ignored.empty()) {
    for (const auto& item : file.tensors)
      if (std::find(ignored.begin(), ignored.end(), item.key()) == ignored.end()) kept.insert(item.key(), item.value());
    tensors = &kept;
  }
  LoadReport report = load_state_dict(model, *tensors, strict, path);
  log().info("weights {} ({}{}): {}", path, file.format, file.nested_key.empty() ? "" : ", '" + file.nested_key + "'",
             report.summary());
  return report;
}

StateDict inference_state_dict(const Model& model, int64_t* dropped) {
  const auto prefixes = model.training_only_prefixes();
  StateDict out;
  int64_t n = 0;
  for (const auto& item : module_state_dict(model)) {
    const std::string& k = item.key();
    const bool training_only =
        std::any_of(prefixes.begin(), prefixes.end(), [&k](const std::string& p) { return k.rfind(p, 0) == 0; });
    if (training_only) ++n;
    else out.insert(k, item.value());
  }
  if (dropped) *dropped = n;
  return out;
}

}  // namespace seer
