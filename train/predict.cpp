#include "train/predict.h"

#include "core/error.h"
#include "data/collate.h"
#include "data/rng.h"
#include "train/evaluation.h"

namespace seer {

Batch image_batch(const cv::Mat& rgb, const std::string& path, const TransformList& transforms, uint64_t seed,
                  const std::string& caption) {
  Sample s;
  s.image = rgb;
  s.target.boxes = torch::zeros({0, 4});
  s.target.labels = torch::zeros({0}, torch::kLong);
  s.target.iscrowd = torch::zeros({0}, torch::kUInt8);
  s.target.area = torch::zeros({0});
  s.target.orig_size = {rgb.rows, rgb.cols};
  s.target.size = {rgb.rows, rgb.cols};
  s.target.file_name = path;
  s.target.caption = caption;
  SampleRng rng(seed);
  apply_transforms(transforms, s, rng);
  std::vector<Sample> one;
  one.push_back(std::move(s));
  return collate(std::move(one));
}

void check_text_prompt(const Model& model, const std::optional<std::string>& text) {
  if (text && !model.accepts_text()) throw UsageError("--text: the '" + model.family() + "' model takes no text prompt");
  if (text) model.check_prompt(*text);
}

Prediction predict_image(Model& model, const cv::Mat& rgb, const std::string& path, const TransformList& transforms,
                         uint64_t seed, const torch::Device& device, const std::optional<std::string>& text) {
  check_text_prompt(model, text);
  torch::NoGradGuard no_grad;
  Batch batch = image_batch(rgb, path, transforms, seed, text.value_or(""));
  Prediction p = model.predict(batch_to_device(batch, device)).at(0);
  for (torch::Tensor* t : {&p.boxes, &p.scores, &p.labels, &p.masks, &p.tag_scores})
    if (t->defined()) *t = t->cpu();
  return p;
}

}  // namespace seer
