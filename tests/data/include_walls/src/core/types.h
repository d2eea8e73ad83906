#pragma once
// Fixture for scripts/check_includes.sh: a header of seer_core with no includes of ours.
