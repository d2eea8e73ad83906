#pragma once
// The process-wide view of the data-parallel world (DESIGN.md §6), for code that
// must agree across processes without knowing the trainer: a loss that
// normalises by the number of boxes in the GLOBAL batch, an evaluation that
// gathers predictions on rank 0.
//
// train/ installs a Backend (c10d process groups) when seer runs as one of
// several workers; with none installed this is a world of one: rank 0, world
// size 1, every collective a no-op. Collectives must be called by every rank in
// the same order (as with torch.distributed); a peer that died makes them throw
// RuntimeError once the backend's timeout has passed.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace seer::dist {

// What a communication backend provides. Implementations live in train/.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Element-wise sum over ranks, in place, of every tensor (same shapes and dtypes on every rank).
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  // Every rank's tensors become `root`'s, in place.
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
  // Every rank's bytes (any length), indexed by rank.
  virtual std::vector<std::string> all_gather_bytes(const std::string& mine) = 0;
  virtual void barrier() = 0;
};

// Installs `backend` (null = back to a world of one).
void set_backend(std::shared_ptr<Backend> backend);
// The installed backend (null in a world of one).
std::shared_ptr<Backend> backend();

int rank();
int world_size();
bool is_main();      // rank 0: the one process that writes logs, metrics and checkpoints
bool distributed();  // world_size() > 1

// Sum over ranks, in place.
void all_reduce_sum_(at::Tensor& tensor);
void all_reduce_sum_(std::vector<at::Tensor>& tensors);
// The sum of `value` over ranks (in double precision).
double all_reduce_sum(double value);
// `tensor` becomes rank `root`'s, in place.
void broadcast_(at::Tensor& tensor, int root = 0);
// Every rank's bytes, indexed by rank ({mine} in a world of one).
std::vector<std::string> all_gather_bytes(const std::string& mine);
// Rank `root`'s bytes on every rank.
std::string broadcast_bytes(const std::string& bytes, int root = 0);
void barrier();

}  // namespace seer::dist
