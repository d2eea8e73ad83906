#pragma once
// The top-level config sections every command shares: runtime, schedule, predict.
#include <cstdint>
#include <optional>
#include <string>

#include "core/config.h"

namespace seer {

struct RuntimeOptions {
  uint64_t seed = 42;
  bool deterministic = false;  // deterministic algorithms; exact resume
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int threads = 0;             // intra-op threads (0 = all cores)
  std::string work_dir = "runs";
  std::string name;            // run folder name under work_dir ("" = config file stem)
  std::string log_level = "info";
};
RuntimeOptions read_runtime_options(const ConfigSection& runtime);

struct ScheduleOptions {
  int64_t epochs = 1;
  std::optional<int64_t> max_iters;  // stop after this many iterations when set
};
ScheduleOptions read_schedule_options(const ConfigSection& schedule);

struct PredictOptions {
  double score_threshold = 0.3;
  int64_t max_detections = 100;
};
PredictOptions read_predict_options(const ConfigSection& predict);

}  // namespace seer
