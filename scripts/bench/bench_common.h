#pragma once
// Shared by the C++ benchmark programs: timing, medians, and a main() that
// turns errors into one line and exit code 2 (usage/config) or 1 (runtime).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

#include "core/error.h"

namespace seer::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

inline int guarded_main(int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const seer::ConfigError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace seer::bench
