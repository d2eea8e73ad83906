#include "cli/commands.h"
#include "train/resolve.h"

namespace seer::cli {

int run_train(const Args& args) {
  // The config is still resolved, so its errors are reported now.
  resolve_config(args.positional(0), args.all("--set"));
  not_available("train", "no model family is built into this version yet");
}

}  // namespace seer::cli
