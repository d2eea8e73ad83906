#pragma once
// Logging (spdlog) and progress display. The logger is the one piece of global
// state seer allows (DESIGN.md §11).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace seer {

// The shared logger ("seer"), created on first use, printing to stderr.
spdlog::logger& log();
// Also write everything to `path` (e.g. <run>/log.txt). Calling again switches file.
void log_to_file(const std::string& path);
// "debug", "info", "warn", "error".
void set_log_level(const std::string& level);

// A progress bar for long loops: done/total, rate, ETA and a free-form status
// (e.g. current losses). On a terminal it redraws one line in place; otherwise
// it prints a plain line every `plain_interval_s` seconds and at the end.
class Progress {
 public:
  Progress(std::string label, int64_t total, double plain_interval_s = 10.0);
  ~Progress();
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");
  // Seconds since construction.
  double elapsed() const;

 private:
  std::string render(int64_t done, const std::string& status, bool full_bar) const;
  std::string label_;
  int64_t total_;
  double plain_interval_;
  bool tty_;
  bool finished_ = false;
  int64_t done_ = 0;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace seer
