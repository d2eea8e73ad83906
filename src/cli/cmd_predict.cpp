// seer predict: run a model on image files with the config's validation
// transforms and write its predictions in original-image pixels as JSON
// (core/predictions.h: boxes, class names and ids, phrases, tags, masks).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/setup.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/predictions.h"
#include "data/image_io.h"
#include "train/model_io.h"
#include "cli/resolve.h"
#include "train/predict.h"

namespace seer::cli {

int run_predict(const Args& args) {
  InferenceSetup setup = read_inference_setup(args);
  const ResolvedConfig& r = setup.config;
  if (!r.model) throw ConfigError(r.config.file() + ": the config has no model section");
  if (!r.data.val) throw ConfigError(r.config.file() + ": predict uses data.val's transforms, but the config has no data.val");
  const std::vector<std::string> images = args.all("--image");
  if (args.has("--text") && !r.model->accepts_text)  // before any weights or image are read
    throw UsageError("--text: the '" + r.model_type + "' model takes no text prompt");
  const std::optional<std::string> text = args.has("--text") ? std::optional<std::string>(args.get("--text")) : std::nullopt;
  apply_runtime(r.runtime);  // threads, log level

  CategoryTable categories = inference_categories(setup);
  auto model = build_model(r, categories);
  check_text_prompt(*model, text);  // before loading any weights
  load_model_weights(*model, setup.weights(), setup.weights_path, r.model->strict_load);
  const torch::Device device(r.runtime.device);
  model->to(device);
  model->eval();

  const PredictionView view{r.predict.score_threshold, r.predict.max_detections};
  const std::string vis = args.get("--vis");
  if (!vis.empty()) std::filesystem::create_directories(vis);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int failed = 0;
  Progress progress("predict", static_cast<int64_t>(images.size()));
  for (size_t n = 0; n < images.size(); ++n) {
    const std::string& path = images[n];
    try {
      cv::Mat rgb = read_image_rgb(path);
      Prediction p = select_detections(
          predict_image(*model, rgb, path, r.data.val->transforms, r.runtime.seed, device, text), view);
      nlohmann::ordered_json j;
      j["image"] = path;
      j.update(prediction_to_json(p, categories, view));
      out.push_back(j);
      if (!vis.empty()) {
        auto file = std::filesystem::path(vis) / (std::filesystem::path(path).stem().string() + ".jpg");
        write_image_rgb(file.string(), draw_prediction(rgb, p, categories, text.value_or(""), view));
      }
    } catch (const DataError& e) {
      // one unreadable image does not lose the others' predictions
      log().error("{}", e.what());
      ++failed;
    }
    progress.update(static_cast<int64_t>(n + 1));
  }
  progress.finish();
  const std::string json = out.dump(1);
  if (args.has("--out")) {
    std::ofstream f(args.get("--out"));
    if (!(f << json << "\n")) throw RuntimeError("--out: cannot write '" + args.get("--out") + "'");
    log().info("{} predictions written to {}{}", out.size(), args.get("--out"), vis.empty() ? "" : ", drawings in " + vis);
  } else {
    std::cout << json << "\n";
  }
  if (failed) throw DataError(std::to_string(failed) + " of " + std::to_string(images.size()) + " images could not be read (see above); the others were written");
  return 0;
}

}  // namespace seer::cli
