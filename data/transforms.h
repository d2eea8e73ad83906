#pragma once
// Augmentations and preprocessing, listed in YAML in the order they run:
//
//   transforms:
//     - {type: random_horizontal_flip, p: 0.5}
//     - {type: random_resize, sizes: [480, 512, 544], max_size: 1333}
//     - {type: normalize}
//
// Each transform keeps the image, boxes, masks and caption spans of a Sample
// consistent. Random choices come from the per-sample SampleRng only.
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/rng.h"
#include "data/sample.h"

namespace seer {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual void apply(Sample& sample, SampleRng& rng) const = 0;
  virtual std::string name() const = 0;
  // True when the transform may add padding: Target::size (the valid, unpadded
  // region) then stays as the transform set it instead of following the image.
  virtual bool pads() const { return false; }
};

using TransformList = std::vector<std::shared_ptr<Transform>>;

// Read (and declare the keys of) the list at `section.key`, e.g. data.train +
// "transforms"; transforms that hold lists (random_select's `first`/`second`)
// read them through here too, so nesting works at any depth. `doc` documents the key.
TransformList read_transforms(const ConfigSection& section, const std::string& key,
                              const std::string& doc = "transforms in the order they run, each {type: ..., options}");

// Run the list in order.
void apply_transforms(const TransformList& list, Sample& sample, SampleRng& rng);

}  // namespace seer
