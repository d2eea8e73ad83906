#include "cli/commands.h"

namespace seer::cli {

int run_tokenize(const Args&) { not_available("tokenize", "the tokenizers are not built into this version yet"); }

}  // namespace seer::cli
