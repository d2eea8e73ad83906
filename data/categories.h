#pragma once
// Category tables that need no dataset on disk (`data.categories`), so a
// model can predict and export with only its weights: the built-in COCO table
// (80 names with their original ids 1..90) or a names file.
#include <string>

#include "core/types.h"

namespace seer {

// COCO 2017 detection: 80 classes, ids 1..90 with the official gaps.
CategoryTable coco_categories();

// A names file: one category per line, either "name" (id = the 0-based index
// among the non-empty lines) or "id name" (an integer id, whitespace, the
// name). Empty lines are skipped. DataError (file:line) for a duplicate id or
// an unreadable file.
CategoryTable read_category_names(const std::string& path);

// `data.categories`: "coco" or a names file path (relative to data.root);
// "" = none (an empty table).
CategoryTable named_categories(const std::string& spec, const std::string& data_root);

}  // namespace seer
