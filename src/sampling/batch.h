// The rows of a logits view of sampling ([batch, V] or [V]): the checks every sampling op shares,
// a row as a contiguous row of its compute type, and the rows spread over threads.
#ifndef SMX_SAMPLING_BATCH_H_
#define SMX_SAMPLING_BATCH_H_

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "core/storage.h"
#include "smx/status.h"
#include "smx/tensor.h"

namespace smx::internal {

struct Batch {
  std::int64_t rows = 0;
  std::int64_t length = 0;  // V
  std::int64_t row_stride = 0, col_stride = 0;
};

// Checks `x` (named `name` in op's messages) and describes its rows; V = 0 with rows is an
// error (nothing to draw).
Status PlanBatch(const char* op, const char* name, const ConstTensorRef& x, Batch& batch);

// A span of one entry per row: `size` must be `rows` (or 0 when `optional`).
Status CheckSpan(const char* op, const char* name, std::size_t size, std::int64_t rows,
                 bool optional);

// Row r of x as a contiguous row of C: the data itself when it already is one, else staged.
template <typename C>
const C* RowOf(const ConstTensorRef& x, const Batch& b, std::int64_t r, std::vector<C>& stage) {
  const std::int64_t offset = r * b.row_stride;
  const C* direct = nullptr;
  VisitStorage(x.dtype, [&](auto s) {
    using S = decltype(s);
    const S* row = static_cast<const S*>(x.data) + offset;
    if constexpr (std::is_same_v<S, C>) {
      if (b.col_stride == 1 || b.length == 1) {
        direct = row;
        return;
      }
    }
    stage.resize(static_cast<std::size_t>(b.length));
    for (std::int64_t i = 0; i < b.length; ++i) {
      stage[static_cast<std::size_t>(i)] = static_cast<C>(ToCompute(row[i * b.col_stride]));
    }
  });
  return direct != nullptr ? direct : stage.data();
}

// Runs row_fn(state, r) -> std::string (empty, or what is wrong with row r) for every row on
// `threads` threads (0: as many as the work calls for), each thread with its own State; returns
// the first row's problem as op's error.
template <class State, class RowFn>
Status ForEachRow(const char* op, const Batch& b, RowFn row_fn, int threads = 0) {
  std::vector<std::string> problems(static_cast<std::size_t>(b.rows));
  if (threads <= 0) threads = ThreadsFor(b.rows * b.length, b.rows);
  ParallelFor(b.rows, threads, [&](std::int64_t begin, std::int64_t end) {
    State state;
    for (std::int64_t r = begin; r < end; ++r) {
      problems[static_cast<std::size_t>(r)] = row_fn(state, r);
    }
  });
  for (std::int64_t r = 0; r < b.rows; ++r) {
    const std::string& p = problems[static_cast<std::size_t>(r)];
    if (!p.empty()) {
      return Status::InvalidArgument(std::string(op) + ": row " + std::to_string(r) +
                                     " of the logits " + p);
    }
  }
  return Status::Ok();
}

}  // namespace smx::internal

#endif  // SMX_SAMPLING_BATCH_H_
