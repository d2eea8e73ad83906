#pragma once
// Running a model on single image files, as `seer predict` does: the image through
// the config's validation transforms into a batch of one, the text prompt (--text)
// as that batch's Target::caption for models that take text (Model::accepts_text).
#include <opencv2/core.hpp>

#include <optional>
#include <string>

#include "core/types.h"
#include "data/transforms.h"
#include "models/model.h"

namespace seer {

// `rgb` (the image read from `path`) through `transforms` into a batch of one with no
// boxes; `caption` becomes its Target::caption.
Batch image_batch(const cv::Mat& rgb, const std::string& path, const TransformList& transforms, uint64_t seed,
                  const std::string& caption = "");

// UsageError (exit 2) when a text prompt is given to a model that takes none.
void check_text_prompt(const Model& model, const std::optional<std::string>& text);

// The model's prediction for one image (on `device`, in no-grad mode; the model is
// expected in eval mode), moved to the CPU, with nothing filtered.
Prediction predict_image(Model& model, const cv::Mat& rgb, const std::string& path, const TransformList& transforms,
                         uint64_t seed, const torch::Device& device, const std::optional<std::string>& text = {});

}  // namespace seer
