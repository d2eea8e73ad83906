#include "cli/commands.h"

namespace seer::cli {

int run_coco_eval(const Args&) { not_available("coco-eval", "the COCO evaluator is not built into this version yet"); }

}  // namespace seer::cli
