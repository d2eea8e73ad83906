#pragma once
// `seer train --nproc N`: a local launcher in the manner of torchrun. It starts N
// copies of this binary with the given arguments and the torchrun environment
// (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1,
// MASTER_PORT = a free port), then waits for them. When one exits non-zero or
// dies by a signal, the others are stopped (SIGTERM, then SIGKILL) and the
// launcher fails with one line naming that rank and how it ended. Workers die
// with the launcher (PR_SET_PDEATHSIG), so no orphan is left waiting for peers.
#include <string>
#include <vector>

namespace seer::cli {

// --nproc's value: a whole number >= 1, else UsageError (exit 2).
int parse_nproc(const std::string& value);

// Runs the workers; 0 when all succeed, else throws RuntimeError (exit 1).
// `args` are the subcommand and its arguments (e.g. {"train", CONFIG, ...}).
int launch_local_workers(int nproc, const std::vector<std::string>& args);

}  // namespace seer::cli
