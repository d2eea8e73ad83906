#include "data/data_config.h"

namespace seer {

DataSpec read_data_spec(const ConfigSection& data, uint64_t seed) {
  DataSpec spec;
  spec.root = data.get<std::string>("root", "", "base directory of relative dataset paths ('' = as written)");
  spec.categories = data.get<std::string>(
      "categories", "",
      "class table without the dataset: coco (80 names, ids 1..90) | a names file (one per line, optionally 'id name') "
      "| '' (from the dataset); used by predict/export when the weights carry none");
  for (const char* split : {"train", "val"}) {
    if (!data.has(split)) continue;
    bool train = std::string(split) == "train";
    ConfigSection s = data.sub(split);
    DatasetContext ctx;
    ctx.root = spec.root;
    ctx.split = split;
    LoaderOptions lo = read_loader_options(data, train, seed);
    ctx.on_error = lo.on_error;
    SplitSpec ss;
    ss.build_dataset = read_dataset(s.sub("dataset"), ctx);
    ss.transforms = read_transforms(s, "transforms");
    ss.loader = lo;
    (train ? spec.train : spec.val) = std::move(ss);
  }
  return spec;
}

}  // namespace seer
