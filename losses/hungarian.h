#pragma once
// Exact minimum-cost assignment for a rectangular cost matrix.
//
// Same contract as scipy.optimize.linear_sum_assignment (minimise): for an
// [R, C] matrix it returns min(R, C) pairs (row_ind, col_ind), int64 on CPU,
// sorted by row. The solver is a shortest-augmenting-path method of the
// Jonker-Volgenant family (the one scipy uses, after Crouse 2016), O(n^3)
// worst case, run in double precision whatever the input dtype.
//
// NaN or +-inf entries are an error (seer::RuntimeError), as are inputs that
// are not 2-D or not floating point.
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace seer {

std::pair<torch::Tensor, torch::Tensor> linear_sum_assignment(const torch::Tensor& cost);

// The same solver on a row-major [rows x cols] double buffer (must be finite),
// for callers that already hold contiguous CPU memory. Fills min(rows, cols)
// pairs sorted by row.
void linear_sum_assignment(const double* cost, int64_t rows, int64_t cols, std::vector<int64_t>& rows_out,
                           std::vector<int64_t>& cols_out);

}  // namespace seer
