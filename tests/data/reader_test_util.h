#pragma once
// Helpers shared by the dataset reader tests.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "data/dataset.h"

namespace seer::test {

// Build a dataset from the YAML of its section (data.<split>.dataset) through
// the dataset table, as a config would; every key must be declared.
inline std::shared_ptr<Dataset> build_dataset(const std::string& yaml, OnError on_error = OnError::Fail,
                                              const std::string& root = "", const std::string& split = "train") {
  Config cfg = Config::from_string(yaml, "<test>");
  DatasetContext ctx;
  ctx.root = root;
  ctx.on_error = on_error;
  ctx.split = split;
  DatasetBuilder builder = read_dataset(cfg.root(), ctx);
  cfg.check_unknown_keys();
  return builder();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The DataError message `f` throws, or "" when it throws nothing.
template <class F>
std::string data_error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace seer::test

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (needle) << "' not in: " << (haystack)
