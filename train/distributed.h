#pragma once
// Data-parallel training over PyTorch's c10d (DESIGN.md §6): every worker holds
// the whole model, reads its share of each epoch (Loader rank/world_size) and,
// after backward, averages its gradients with the others' before clipping and
// the optimizer step, so all workers keep identical weights.
//
// Workers meet through the torchrun environment: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT (rank 0 hosts a c10d::TCPStore there). The process
// group is Gloo on CPU and NCCL for CUDA devices when LibTorch has CUDA.
// Joining waits at most runtime.dist_timeout_s for the peers; every collective
// afterwards fails with a RuntimeError (instead of hanging) when a peer dies.
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/distributed.h"

namespace seer {

// The torchrun variables of this process.
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;  // workers on this machine (LOCAL_WORLD_SIZE, else WORLD_SIZE)
  std::string master_addr;
  int master_port = 0;
};

// The environment's distributed setting: nullopt when WORLD_SIZE is unset or 1
// (a single process). ConfigError (exit 2) naming the variable when one is
// missing or malformed (e.g. WORLD_SIZE=2 without MASTER_PORT, RANK >= WORLD_SIZE).
std::optional<DistributedEnv> read_distributed_env();

struct DistributedOptions {
  double timeout_s = 1800;      // joining and every collective
  std::string device = "cpu";   // cuda devices use NCCL (when LibTorch has CUDA), else Gloo
};

// Joins the process group and installs it as seer::dist's backend for its
// lifetime (the destructor uninstalls it). RuntimeError when the peers do not all
// arrive within the timeout, or MASTER_ADDR:MASTER_PORT cannot be reached / bound.
class DistributedSession {
 public:
  DistributedSession(const DistributedEnv& env, const DistributedOptions& options);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;

 private:
  std::shared_ptr<dist::Backend> backend_;
};

// Rank `root`'s parameters and buffers copied into every rank's `module`
// (fresh start: every worker begins from the same weights).
void broadcast_module_state(torch::nn::Module& module, int root = 0);

// Averages the gradients of `params` over ranks, in place: gradients are
// flattened into buckets of about `bucket_bytes` (per dtype and device), each
// bucket summed with one all-reduce, divided by the world size and copied back.
// A parameter without a gradient on this rank but with one on another gets a zero
// gradient (so every rank steps the same parameters); one without a gradient on
// every rank keeps none. No-op in a world of one.
void all_reduce_gradients(const std::vector<torch::Tensor>& params, int64_t bucket_bytes = 25 << 20);

}  // namespace seer
