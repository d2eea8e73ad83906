#pragma once
// One decoded image and its ground truth, as it flows through the transforms.
#include <opencv2/core.hpp>

#include "core/types.h"

namespace seer {

struct Sample {
  // RGB, HxWx3. CV_8UC3 when decoded; CV_32FC3 after the `normalize` transform.
  cv::Mat image;
  Target target;  // boxes/masks/spans in pixels of `image`
  // The dataset's category table (set by the loader), for transforms that
  // write class names into captions; null outside a loader.
  const CategoryTable* categories = nullptr;
};

}  // namespace seer
