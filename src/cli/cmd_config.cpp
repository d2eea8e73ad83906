#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "cli/resolve.h"

namespace seer::cli {

int run_config(const Args& args) {
  ResolvedConfig r = resolve_config(args.positional(0), args.all("--set"));
  if (args.has("--keys")) {
    for (const KeyDoc& k : r.config.declared()) {
      std::cout << std::left << std::setw(44) << k.path << " " << std::setw(12) << k.type << " "
                << std::setw(18) << (k.default_repr.empty() ? "(required)" : k.default_repr) << " " << k.doc << "\n";
    }
    return 0;
  }
  std::cout << r.config.to_yaml();
  return 0;
}

}  // namespace seer::cli
