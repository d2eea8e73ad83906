#pragma once
// The readers of the dataset table in dataset.cpp, one per on-disk format.
// Each declares its keys from `section` (data.<split>.dataset) and returns a
// builder; the formats themselves are documented in their own headers.
#include "data/dataset.h"

namespace seer {

DatasetBuilder read_synthetic_dataset(const ConfigSection& section, const DatasetContext& ctx);
DatasetBuilder read_coco_dataset(const ConfigSection& section, const DatasetContext& ctx);
DatasetBuilder read_odvg_dataset(const ConfigSection& section, const DatasetContext& ctx);
DatasetBuilder read_flickr30k_dataset(const ConfigSection& section, const DatasetContext& ctx);
DatasetBuilder read_refcoco_dataset(const ConfigSection& section, const DatasetContext& ctx);
DatasetBuilder read_tagging_dataset(const ConfigSection& section, const DatasetContext& ctx);

}  // namespace seer
