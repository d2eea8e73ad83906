#include "data/transform_ops.h"

#include "core/error.h"

namespace seer {

void Normalize::apply(Sample& sample, SampleRng&) const {
  cv::Mat f;
  if (sample.image.depth() == CV_8U) sample.image.convertTo(f, CV_32FC3, 1.0 / 255.0);
  else f = sample.image;  // already float in [0,1]
  cv::subtract(f, cv::Scalar(mean_[0], mean_[1], mean_[2]), f);
  cv::divide(f, cv::Scalar(std_[0], std_[1], std_[2]), f);
  sample.image = f;
}

std::shared_ptr<Transform> read_normalize(const ConfigSection& s) {
  auto mean = s.get<std::vector<double>>("mean", {0.485, 0.456, 0.406}, "per-channel RGB mean (of [0,1] values)");
  auto stdv = s.get<std::vector<double>>("std", {0.229, 0.224, 0.225}, "per-channel RGB std");
  if (mean.size() != 3) s.fail("mean", "expects 3 values");
  if (stdv.size() != 3) s.fail("std", "expects 3 values");
  for (double v : stdv)
    if (v <= 0) s.fail("std", "values must be > 0");
  return std::make_shared<Normalize>(std::array<double, 3>{mean[0], mean[1], mean[2]},
                                     std::array<double, 3>{stdv[0], stdv[1], stdv[2]});
}

}  // namespace seer
