#pragma once
// The transform classes behind the `transforms:` table (see transforms.h).
#include <array>
#include <vector>

#include "data/transforms.h"

namespace seer {

// (x - mean) / std on RGB scaled to [0,1]; turns the image into CV_32FC3.
// Defaults are the ImageNet statistics DETR uses.
class Normalize : public Transform {
 public:
  Normalize(std::array<double, 3> mean, std::array<double, 3> std) : mean_(mean), std_(std) {}
  void apply(Sample& sample, SampleRng& rng) const override;
  std::string name() const override { return "normalize"; }
  const std::array<double, 3>& mean() const { return mean_; }
  const std::array<double, 3>& std() const { return std_; }

 private:
  std::array<double, 3> mean_, std_;
};
std::shared_ptr<Transform> read_normalize(const ConfigSection& s);

}  // namespace seer
