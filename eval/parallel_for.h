#pragma once
// A parallel loop on plain threads, shared by the COCO readers and COCOeval.
// Both read independent records (annotations, results, image/category pairs)
// and must report the same error whatever the scheduling, so an exception is
// rethrown for the lowest failing index rather than the first one thrown.
#include <cstddef>
#include <functional>

namespace seer::eval {

// Run fn(i) for i in [0, n) on up to `threads` threads (1: in the caller, in
// order). Indices are taken from a shared counter; after the join the exception
// of the lowest failing index, if any, is rethrown.
void parallel_for(size_t n, int threads, const std::function<void(size_t)>& fn);

// `n` when positive, else std::thread::hardware_concurrency() (at least 1).
int resolve_threads(int n);

}  // namespace seer::eval
