#pragma once
// The run folder (DESIGN.md §10): runs/<name>/ with the resolved config,
// log.txt, metrics.jsonl, results.csv, plots/, vis/ and checkpoints/.
#include <string>

#include "core/config.h"

namespace seer {

struct RunDir {
  std::string root;
  std::string config_yaml() const { return root + "/config.yaml"; }
  std::string log_txt() const { return root + "/log.txt"; }
  std::string metrics_jsonl() const { return root + "/metrics.jsonl"; }
  std::string results_csv() const { return root + "/results.csv"; }
  std::string plots() const { return root + "/plots"; }
  std::string vis() const { return root + "/vis"; }
  std::string checkpoints() const { return root + "/checkpoints"; }
};

// Create the folder (work_dir/name, or `explicit_dir` when given), write the
// resolved config into it and start logging to its log.txt. `name` "" means the
// config file's stem.
// Where open_run_dir puts the folder, without touching the disk (distributed
// workers other than rank 0 write nothing there).
RunDir locate_run_dir(const Config& resolved, const std::string& work_dir, const std::string& name,
                      const std::string& explicit_dir = "");
RunDir open_run_dir(const Config& resolved, const std::string& work_dir, const std::string& name,
                    const std::string& explicit_dir = "");

}  // namespace seer
