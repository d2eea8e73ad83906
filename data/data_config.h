#pragma once
// The `data:` section of a config: shared loader keys plus one block per split.
//
//   data:
//     root: /datasets/coco        # base of relative dataset paths
//     batch_size: 2               # per process
//     num_workers: 2              # default: half the cores, 1..8
//     train: {dataset: {type: coco, ...}, transforms: [...]}
//     val:   {dataset: {type: coco, ...}, transforms: [...]}
#include <optional>

#include "core/config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/transforms.h"

namespace seer {

struct SplitSpec {
  DatasetBuilder build_dataset;
  TransformList transforms;
  LoaderOptions loader;
};

struct DataSpec {
  std::string root;
  // data.categories: "coco" (the built-in table), a names file, or "" (none):
  // the class table predict and export use when the dataset is not on disk.
  std::string categories;
  std::optional<SplitSpec> train;
  std::optional<SplitSpec> val;
};

// Declares and validates every data key; opens no file.
DataSpec read_data_spec(const ConfigSection& data, uint64_t seed);

}  // namespace seer
