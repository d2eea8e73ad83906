#include "train/run_dir.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/logging.h"

namespace fs = std::filesystem;

namespace seer {

RunDir locate_run_dir(const Config& resolved, const std::string& work_dir, const std::string& name,
                      const std::string& explicit_dir) {
  RunDir run;
  if (!explicit_dir.empty()) {
    run.root = explicit_dir;
  } else {
    std::string n = name.empty() ? fs::path(resolved.file()).stem().string() : name;
    run.root = (fs::path(work_dir) / n).string();
  }
  return run;
}

RunDir open_run_dir(const Config& resolved, const std::string& work_dir, const std::string& name,
                    const std::string& explicit_dir) {
  RunDir run = locate_run_dir(resolved, work_dir, name, explicit_dir);
  std::error_code ec;
  for (const std::string& d : {run.root, run.plots(), run.vis(), run.checkpoints()}) {
    fs::create_directories(d, ec);
    if (ec) throw RuntimeError("cannot create run folder '" + d + "': " + ec.message());
  }
  std::ofstream out(run.config_yaml());
  if (!out) throw RuntimeError("cannot write '" + run.config_yaml() + "'");
  out << "# resolved from " << resolved.file() << " (bases merged, overrides and defaults applied)\n"
      << resolved.to_yaml();
  log_to_file(run.log_txt());
  return run;
}

}  // namespace seer
