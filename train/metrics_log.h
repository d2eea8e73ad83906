#pragma once
// The run folder's metrics files (DESIGN.md §10):
//   metrics.jsonl  one JSON object per line: a training line every log_interval
//                  iterations {"iter", "epoch", "lr", "loss", <terms>, "time", "data_time"}
//                  and an evaluation line per evaluation {"epoch", "iter", <metric>: value}
//   results.csv    one row per epoch: epoch, mean train loss terms, lr, metrics;
//                  columns are the union of every row's, in first-seen order
//                  (a value a row lacks is left empty).
// Both survive a resume: lines and rows after the checkpoint's position are dropped,
// so a resumed run's files read as if it had never stopped.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace seer {

class MetricsLog {
 public:
  MetricsLog(std::string jsonl_path, std::string csv_path);

  // Start empty (a fresh run in an existing folder).
  void reset();
  // Keep only what was logged up to iteration `iter` / epoch `epochs_done` (resume).
  void truncate_after(int64_t iter, int64_t epochs_done);

  void append(const nlohmann::ordered_json& line);
  // Adds (or replaces) the row of `epoch` and rewrites results.csv.
  void add_result(int64_t epoch, const std::vector<std::pair<std::string, double>>& values);

  // A disabled log writes nothing and reads nothing (distributed workers other than rank 0).
  void set_enabled(bool enabled) { enabled_ = enabled; }

  const std::string& jsonl_path() const { return jsonl_; }
  const std::string& csv_path() const { return csv_; }

 private:
  void write_csv() const;
  std::string jsonl_, csv_;
  bool enabled_ = true;
  std::vector<std::string> columns_;  // without "epoch"
  std::vector<std::pair<int64_t, std::vector<std::pair<std::string, double>>>> rows_;
};

// Every line of a metrics.jsonl file (unparsable lines are skipped).
std::vector<nlohmann::ordered_json> read_metrics_jsonl(const std::string& path);

}  // namespace seer
