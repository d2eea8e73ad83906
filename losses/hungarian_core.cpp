// The solver proper, free of torch so that it can be built and timed alone.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace seer {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Shortest augmenting path on a wide matrix (nr <= nc). Keeps dual variables
// u (rows) and v (columns) with u[i] + v[j] <= c[i][j]; every search is a
// Dijkstra over reduced costs from one free row to the nearest free column.
// col4row receives the column of each row.
class Solver {
 public:
  Solver(const double* c, int64_t nr, int64_t nc)
      : c_(c), nr_(nr), nc_(nc), u_(nr, 0.0), v_(nc, 0.0), dist_(nc), path_(nc), col4row_(nr, -1),
        row4col_(nc, -1), visited_rows_(), remaining_(nc) {
    visited_rows_.reserve(nr);
  }

  const std::vector<int64_t>& solve() {
    if (nr_ == nc_) column_reduction();
    for (int64_t row = 0; row < nr_; ++row) {
      if (col4row_[row] >= 0) continue;
      augment(row);
    }
    return col4row_;
  }

 private:
  // Square case only: start from v[j] = min_i c[i][j] and give each column to
  // its minimising row when that row is still free. The duals stay feasible
  // (u = 0) and every pair made is tight, so the searches that follow only
  // have to place the remaining rows. For a wide matrix a free column must
  // keep the largest v, which this start would break, so it is skipped.
  void column_reduction() {
    for (int64_t j = 0; j < nc_; ++j) {
      double best = kInf;
      int64_t arg = -1;
      for (int64_t i = 0; i < nr_; ++i) {
        double x = c_[i * nc_ + j];
        if (x < best) {
          best = x;
          arg = i;
        }
      }
      v_[j] = best;
      if (col4row_[arg] < 0) {
        col4row_[arg] = j;
        row4col_[j] = arg;
      }
    }
  }

  void augment(int64_t cur_row) {
    // Columns not yet reached by the search, compacted by swap-remove.
    int64_t n_remaining = nc_;
    for (int64_t k = 0; k < nc_; ++k) remaining_[k] = nc_ - 1 - k;
    std::fill(dist_.begin(), dist_.end(), kInf);
    visited_rows_.clear();
    int64_t n_done = 0;  // columns [nc-n_done, nc) of remaining_ hold the scanned ones

    double min_val = 0.0;
    int64_t i = cur_row;
    int64_t sink = -1;
    while (sink < 0) {
      visited_rows_.push_back(i);
      const double* crow = c_ + i * nc_;
      const double base = min_val - u_[i];
      int64_t index = -1;
      double lowest = kInf;
      for (int64_t k = 0; k < n_remaining; ++k) {
        const int64_t j = remaining_[k];
        const double r = base + crow[j] - v_[j];
        if (r < dist_[j]) {
          path_[j] = i;
          dist_[j] = r;
        }
        // Prefer a free column on ties: it ends the search one step earlier.
        if (dist_[j] < lowest || (dist_[j] == lowest && row4col_[j] < 0)) {
          lowest = dist_[j];
          index = k;
        }
      }
      min_val = lowest;
      if (!(min_val < kInf)) throw RuntimeError("linear_sum_assignment: cost matrix is infeasible");
      const int64_t j = remaining_[index];
      if (row4col_[j] < 0) {
        sink = j;
      } else {
        i = row4col_[j];
      }
      // Move j to the scanned tail.
      remaining_[index] = remaining_[--n_remaining];
      remaining_[n_remaining] = j;
      ++n_done;
    }

    // Dual update: rows and columns touched by the search move by how much
    // closer they were than the sink.
    u_[cur_row] += min_val;
    for (int64_t r : visited_rows_) {
      if (r != cur_row) u_[r] += min_val - dist_[col4row_[r]];
    }
    for (int64_t k = nc_ - n_done; k < nc_; ++k) {
      const int64_t j = remaining_[k];
      v_[j] -= min_val - dist_[j];
    }

    // Flip the alternating path back to cur_row.
    int64_t j = sink;
    while (true) {
      const int64_t r = path_[j];
      row4col_[j] = r;
      std::swap(col4row_[r], j);
      if (r == cur_row) break;
    }
  }

  const double* c_;
  int64_t nr_, nc_;
  std::vector<double> u_, v_, dist_;
  std::vector<int64_t> path_, col4row_, row4col_, visited_rows_, remaining_;
};

}  // namespace

void linear_sum_assignment(const double* cost, int64_t rows, int64_t cols, std::vector<int64_t>& rows_out,
                           std::vector<int64_t>& cols_out) {
  rows_out.clear();
  cols_out.clear();
  if (rows == 0 || cols == 0) return;
  if (rows <= cols) {
    Solver s(cost, rows, cols);
    const auto& col4row = s.solve();
    rows_out.resize(rows);
    std::iota(rows_out.begin(), rows_out.end(), 0);
    cols_out.assign(col4row.begin(), col4row.end());
    return;
  }
  // Tall matrix: solve the transpose, then report pairs sorted by row.
  std::vector<double> t(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) t[j * rows + i] = cost[i * cols + j];
  Solver s(t.data(), cols, rows);
  const auto& row4col = s.solve();  // for each original column, its row
  std::vector<int64_t> order(cols);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return row4col[a] < row4col[b]; });
  rows_out.resize(cols);
  cols_out.resize(cols);
  for (int64_t k = 0; k < cols; ++k) {
    rows_out[k] = row4col[order[k]];
    cols_out[k] = order[k];
  }
}

}  // namespace seer
