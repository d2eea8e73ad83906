#pragma once
// One function per subcommand; each lives in its own cmd_<name>.cpp.
#include "cli/args.h"

namespace seer::cli {

struct Command {
  CommandSpec spec;
  int (*run)(const Args&);
};

const std::vector<Command>& commands();

// The option every config-driven command shares.
OptionSpec set_option();

int run_train(const Args&);
int run_eval(const Args&);
int run_predict(const Args&);
int run_export(const Args&);
int run_coco_eval(const Args&);
int run_config(const Args&);
int run_tokenize(const Args&);
int run_browse_data(const Args&);

}  // namespace seer::cli
