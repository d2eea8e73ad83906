#pragma once
// Shared helpers for the test suites.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "seer_build_info.h"

namespace seer::test {

// The shared data folder: $SEER_DATA, else ../shared/data next to the checkout.
inline std::string data_dir() {
  if (const char* env = std::getenv("SEER_DATA"); env && *env) return env;
  return std::string(SEER_SOURCE_DIR) + "/../shared/data";
}

// A file under the shared data folder ("" when absent, so tests can skip).
inline std::string data_file(const std::string& rel) {
  std::string p = data_dir() + "/" + rel;
  return std::filesystem::exists(p) ? p : "";
}

// SEER_REQUIRE_DATA=1 (CI sets it in .ci/run): missing shared data fails a test
// instead of skipping it, so a parity layer cannot vanish from CI unseen.
inline bool data_required() {
  const char* env = std::getenv("SEER_REQUIRE_DATA");
  return env && std::string(env) == "1";
}

// The one-line message for a missing shared data file, naming its full path.
inline std::string missing_data_message(const std::string& rel) {
  return "shared data '" + rel + "' not found: " + data_dir() + "/" + rel +
         (data_required() ? " (SEER_REQUIRE_DATA=1: a failure, not a skip)" : " (skipped; SEER_DATA names the folder)");
}

// Our own committed fixtures: tests/data/<rel>.
inline std::string fixture(const std::string& rel) { return std::string(SEER_SOURCE_DIR) + "/tests/data/" + rel; }

// The source tree (configs/ etc.).
inline std::string source_path(const std::string& rel) { return std::string(SEER_SOURCE_DIR) + "/" + rel; }

// The seer binary built alongside the tests.
inline std::string seer_binary() { return SEER_BINARY_PATH; }

// Run the seer binary with `args` (shell syntax); stdout and stderr together.
struct CliResult {
  int code;         // exit code, -1 when killed by a signal
  std::string out;  // stdout + stderr
};
// Run a shell command line; stdout and stderr together.
inline CliResult run_command(const std::string& cmd) {
  FILE* p = popen(("(" + cmd + ") 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
inline CliResult run_seer(const std::string& args) { return run_command(seer_binary() + " " + args); }

// A fresh empty temporary directory for one test.
inline std::string temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("seer_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace seer::test

// Missing shared data: skip the current test, or fail it under SEER_REQUIRE_DATA=1.
// Use as a statement: `SEER_SKIP_MISSING_DATA("coco_eval/x.json");`.
#define SEER_SKIP_MISSING_DATA(rel)                                         \
  if (::seer::test::data_required())                                        \
    GTEST_FAIL() << ::seer::test::missing_data_message(rel);                \
  else                                                                      \
    GTEST_SKIP() << ::seer::test::missing_data_message(rel)

// `var` = the full path of shared data file `rel`; when it is absent, skip the
// current test (fail it under SEER_REQUIRE_DATA=1), saying which file.
#define SEER_REQUIRE_DATA(var, rel)                                         \
  std::string var = ::seer::test::data_file(rel);                           \
  if (!var.empty()) {                                                       \
  } else                                                                    \
    SEER_SKIP_MISSING_DATA(rel)
