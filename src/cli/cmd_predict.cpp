// seer predict: run a model on image files with the config's validation
// transforms and write its detections in original-image pixels as JSON.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/setup.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/visualize.h"
#include "data/collate.h"
#include "data/image_io.h"
#include "data/rng.h"
#include "train/evaluation.h"
#include "train/model_io.h"
#include "cli/resolve.h"

namespace seer::cli {

namespace {

// One image through the validation transforms into a batch of one.
Batch image_batch(const std::string& path, const cv::Mat& rgb, const TransformList& transforms, uint64_t seed) {
  Sample s;
  s.image = rgb;
  s.target.boxes = torch::zeros({0, 4});
  s.target.labels = torch::zeros({0}, torch::kLong);
  s.target.iscrowd = torch::zeros({0}, torch::kUInt8);
  s.target.area = torch::zeros({0});
  s.target.orig_size = {rgb.rows, rgb.cols};
  s.target.size = {rgb.rows, rgb.cols};
  s.target.file_name = path;
  SampleRng rng(seed);
  apply_transforms(transforms, s, rng);
  std::vector<Sample> one;
  one.push_back(std::move(s));
  return collate(std::move(one));
}

}  // namespace

int run_predict(const Args& args) {
  ResolvedConfig r = resolve_config(args.positional(0), args.all("--set"));
  if (!r.model) throw ConfigError(r.config.file() + ": the config has no model section");
  if (!r.data.val) throw ConfigError(r.config.file() + ": predict uses data.val's transforms, but the config has no data.val");
  if (args.has("--text")) throw UsageError("--text: the '" + r.model_type + "' model takes no text prompt");
  const std::vector<std::string> images = args.all("--image");
  apply_runtime(r.runtime);  // threads, log level

  CategoryTable categories = config_categories(r);
  auto model = build_model(r, categories);
  load_model_weights(*model, args.get("--weights"), r.model->strict_load);
  const torch::Device device(r.runtime.device);
  model->to(device);
  model->eval();
  torch::NoGradGuard no_grad;

  const std::string vis = args.get("--vis");
  if (!vis.empty()) std::filesystem::create_directories(vis);
  nlohmann::json out = nlohmann::json::array();
  int failed = 0;
  Progress progress("predict", static_cast<int64_t>(images.size()));
  for (size_t n = 0; n < images.size(); ++n) {
    const std::string& path = images[n];
    try {
      cv::Mat rgb = read_image_rgb(path);
      Batch batch = image_batch(path, rgb, r.data.val->transforms, r.runtime.seed);
      Prediction p = model->predict(batch_to_device(batch, device)).at(0);
      p.boxes = p.boxes.cpu();
      p.scores = p.scores.cpu();
      p.labels = p.labels.cpu();
      if (p.masks.defined()) p.masks = p.masks.cpu();
      // best first, thresholded, capped
      auto order = std::get<1>(p.scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
      auto keep = order.index({p.scores.index({order}) >= r.predict.score_threshold});
      if (keep.size(0) > r.predict.max_detections) keep = keep.narrow(0, 0, r.predict.max_detections);
      auto boxes = p.boxes.index({keep}).to(torch::kDouble).contiguous();
      auto scores = p.scores.index({keep}).to(torch::kDouble).contiguous();
      auto labels = p.labels.index({keep}).contiguous();
      nlohmann::json j;
      j["image"] = path;
      j["boxes"] = nlohmann::json::array();
      j["scores"] = nlohmann::json::array();
      j["labels"] = nlohmann::json::array();
      j["label_names"] = nlohmann::json::array();
      j["category_ids"] = nlohmann::json::array();
      std::vector<DrawItem> items;
      for (int64_t k = 0; k < keep.size(0); ++k) {
        auto b = boxes[k];
        std::array<float, 4> box{};
        nlohmann::json jb = nlohmann::json::array();
        for (int c = 0; c < 4; ++c) {
          box[c] = static_cast<float>(b[c].item<double>());
          jb.push_back(b[c].item<double>());
        }
        const int64_t label = labels[k].item<int64_t>();
        const double score = scores[k].item<double>();
        const std::string name = label >= 0 && label < categories.size() ? categories.names[label] : std::to_string(label);
        j["boxes"].push_back(jb);
        j["scores"].push_back(score);
        j["labels"].push_back(label);
        j["label_names"].push_back(name);
        j["category_ids"].push_back(label >= 0 && label < categories.size() ? categories.ids[label] : -1);
        char text[96];
        std::snprintf(text, sizeof(text), "%s %.2f", name.c_str(), score);
        items.push_back({box, text, static_cast<int>(label)});
      }
      out.push_back(j);
      if (!vis.empty()) {
        auto file = std::filesystem::path(vis) / (std::filesystem::path(path).stem().string() + ".jpg");
        write_image_rgb(file.string(), draw_items(rgb, items));
      }
    } catch (const DataError& e) {
      // one unreadable image does not lose the others' predictions
      log().error("{}", e.what());
      ++failed;
    }
    progress.update(static_cast<int64_t>(n + 1));
  }
  progress.finish();

  const std::string text = out.dump(1);
  if (args.has("--out")) {
    std::ofstream f(args.get("--out"));
    if (!(f << text << "\n")) throw RuntimeError("--out: cannot write '" + args.get("--out") + "'");
    log().info("{} predictions written to {}{}", out.size(), args.get("--out"), vis.empty() ? "" : ", drawings in " + vis);
  } else {
    std::cout << text << "\n";
  }
  if (failed) throw DataError(std::to_string(failed) + " of " + std::to_string(images.size()) + " images could not be read (see above); the others were written");
  return 0;
}

}  // namespace seer::cli
