// The row driver (see row_driver.h).
//
// Contiguous f32/f64 rows run in chunks: per chunk, its max, then its exponentials stored and
// summed relative to that max while the chunk is still in cache; the chunk sums are merged in a
// fixed order (so any thread count gives the same bits), then one scale pass. Other rows (strided,
// or f16/bf16 storage) are staged through a stack buffer in three passes: max, sum, output.
#include "softmax/row_driver.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/parallel.h"
#include "hwy/cache_control.h"
#include "softmax/kernels.h"
#include "softmax/row_math.h"
#include "softmax/special_rows.h"

namespace smx::internal {
namespace {

// Chunk length of the contiguous path: x and y of one chunk stay in L2 between its passes (f32:
// 64 KiB each). Measured (1 thread, f32, ns/element, softmax / log_softmax on 16x128256): 32 KiB
// chunks 0.227 / 0.288, 64 KiB 0.187 / 0.254, 128 KiB 0.184 / 0.238 but slower on 512x32000 and
// 1x16777216. A row has at most kMaxChunks chunks, so the per-chunk states live on the stack.
constexpr std::int64_t kMaxChunks = 512;  // 20 KiB of chunk states on the stack
template <typename T>
std::int64_t ChunkLength(std::int64_t length) {
  constexpr std::int64_t kBase = 65536 / sizeof(T);
  const std::int64_t needed = (length + kMaxChunks - 1) / kMaxChunks;
  return std::max(kBase, (needed + 63) / 64 * 64);
}
// Staging buffer of the strided and 16-bit paths, in compute elements.
constexpr std::int64_t kStageLength = 1024;

template <typename T>
const RowKernels<T>& KernelsFor(const KernelTable& table) {
  if constexpr (std::is_same_v<T, float>) {
    return table.f32;
  } else {
    return table.f64;
  }
}

template <typename T>
struct ChunkState {
  T max;
  T shift;  // the exponentials of the chunk are exp((x - shift)/T)
  ExpSum sums;
  bool x_in_y;  // log ops: the exp pass copied the chunk's x into y
};

// What the merged sums give the output pass.
template <typename W>
struct RowScalars {
  W log_sum = 0;    // log_softmax, logsumexp: log sum_j exp((x_j - max)/T)
  W total_sum = 0;  // softmax: sum_j exp((x_j - max)/T)
};

// Merges exponential sums taken relative to different shifts into sums relative to the row max
// `m`, in the order given (which fixes the bits whatever the thread count).
template <typename T>
class SumMerger {
 public:
  using W = Wide<T>;
  SumMerger(T m, double temperature) : m_(m), temperature_(temperature) {}

  // exp((shift - m)/T): moves a sum taken relative to `shift` to the row max.
  W Rescale(T shift) const {
    if (shift == m_) return 1;
    return std::exp((static_cast<W>(shift) - static_cast<W>(m_)) / static_cast<W>(temperature_));
  }
  // A chunk's sums: `max_count` entries equal to the chunk's `max` (split sums), the others summed
  // relative to `shift`.
  void Add(T max, T shift, const ExpSum& s) {
    const W sum = (static_cast<W>(s.sum) + static_cast<W>(s.sum_lo)) * Rescale(shift);
    if (max == m_) {
      count_ += s.max_count;  // the row's max entries, kept apart for log1p
      rest_ += sum;
    } else {
      rest_ += s.max_count * Rescale(max) + sum;
    }
  }
  // get(i) reads element i of the row as W (for the rare precise recomputation of log ops).
  template <typename Get>
  RowScalars<W> Result(RowOp op, std::size_t n, Get get) const {
    RowScalars<W> out;
    if (op == RowOp::kSoftmax) {
      out.total_sum = rest_;  // softmax sums every entry in `rest`
    } else {
      out.log_sum = LogSumOfRow(op, m_, static_cast<W>(temperature_), count_, rest_, n, get);
    }
    return out;
  }

 private:
  T m_;
  double temperature_;
  W count_ = 0, rest_ = 0;
};

template <typename T>
class ContiguousRows {
 public:
  ContiguousRows(const RowKernels<T>& kernels, RowOp op, double temperature)
      : k_(kernels), op_(op), temperature_(temperature), temp_(MakeTemperature<T>(temperature)) {}

  // `stream`: the data is beyond the caches; log_softmax then reads x again in its output pass and
  // writes y with streaming stores. Otherwise its exp pass copies x into y (while the chunk is in
  // L1) and the output pass runs in place. Measured, log_softmax f32 ns/element at 1 / 2 threads:
  // 16x128256 (cache-resident) 0.23 streamed, 0.187 in place; 512x32000 0.25 / 0.155 streamed,
  // 0.25 / 0.19 in place; 1x16777216 0.32 / 0.205 streamed, 0.36 / 0.26 in place.
  // `next_row_follows`: the caller's next row starts at x + length and y + length and is this
  // thread's, so that the last chunk prefetches its start, y too: the first chunk of every row
  // stored into lines not yet owned before (512x32000, 1 thread: softmax 0.277 -> 0.240
  // ns/element, 1.51 -> 1.30 x copy).
  void Run(const T* x, T* y, T* lse, std::int64_t length, int threads, bool stream,
           bool next_row_follows) const {
    const std::int64_t chunk = ChunkLength<T>(length);
    const std::int64_t num_chunks = (length + chunk - 1) / chunk;
    ChunkState<T> states[kMaxChunks];
    ParallelFor(num_chunks, threads, [&](std::int64_t begin, std::int64_t end) {
      T next_max = 0;
      bool next_max_known = false;
      for (std::int64_t c = begin; c < end; ++c) {
        const std::int64_t n = std::min(chunk, length - c * chunk);
        // The next chunk is prefetched while this one is exponentiated, and after the last one
        // the next row's first. y is prefetched for write only within this thread's chunks:
        // another thread's lines would be taken from it. When the data is cache-resident and
        // this thread computes the next chunk too, this pass also takes the next chunk's max
        // (16x128256, 1 thread, ns/element: softmax 0.181 -> 0.171, log_softmax 0.195 -> 0.176,
        // logsumexp 0.142 -> 0.128).
        // Beyond the caches it would wait on memory, which the prefetch only covers for the pass
        // after this one (512x32000 softmax: 0.268 -> 0.314; with the prefetch moved 8 KiB ahead
        // of the max's loads, still 0.281).
        Lookahead<T> ahead{x + (c + 1) * chunk, c + 1 < end ? y + (c + 1) * chunk : nullptr};
        if (c + 1 == num_chunks) {
          ahead.read = x + length;  // harmless if nothing follows: a prefetch never faults
          ahead.write = next_row_follows ? y + length : nullptr;
        }
        NextMax<T> next{x + (c + 1) * chunk,
                        static_cast<std::size_t>(std::min(chunk, length - (c + 1) * chunk)), 0};
        const bool fuse = c + 1 < end && !stream;
        const bool exponentiated =
            ProcessChunk(x + c * chunk, y + c * chunk, n, ahead, stream,
                         next_max_known ? &next_max : nullptr, fuse ? &next : nullptr, states[c]);
        next_max_known = exponentiated && fuse;
        next_max = next.max;
      }
    });
    T m = states[0].max;
    bool finite = true;
    for (std::int64_t c = 0; c < num_chunks; ++c) {
      finite &= static_cast<bool>(std::isfinite(states[c].max));
      m = std::max(m, states[c].max);
    }
    if (!finite) {
      const RowRef<T> row{x, 1, y, 1, lse, length};
      if (WriteNonFiniteRow(op_, row)) return;
    }
    if (op_ == RowOp::kSoftmax && num_chunks == 1) {
      // The usual row: its shift cancels and 1/sum is the factor (no exp call per row).
      const ExpSum& sums = states[0].sums;
      const Wide<T> sum = static_cast<Wide<T>>(sums.sum) + static_cast<Wide<T>>(sums.sum_lo);
      k_.scale(y, y, static_cast<std::size_t>(length), static_cast<T>(1 / sum));
      return;
    }
    SumMerger<T> merger(m, temperature_);
    for (std::int64_t c = 0; c < num_chunks; ++c) {
      merger.Add(states[c].max, states[c].shift, states[c].sums);
    }
    const RowScalars<Wide<T>> s =
        merger.Result(op_, static_cast<std::size_t>(length),
                      [x](std::size_t i) { return static_cast<Wide<T>>(x[i]); });
    if (op_ == RowOp::kLogSumExp) {
      *lse = static_cast<T>(static_cast<Wide<T>>(m) + s.log_sum);
      return;
    }
    T log_hi, log_lo;
    SplitWide(s.log_sum, log_hi, log_lo);
    ParallelFor(num_chunks, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t c = begin; c < end; ++c) {
        const auto n = static_cast<std::size_t>(std::min(chunk, length - c * chunk));
        if (op_ == RowOp::kSoftmax && std::isinf(states[c].max)) {
          std::fill(y + c * chunk, y + c * chunk + n, T(0));  // a chunk of only -inf
        } else if (op_ == RowOp::kSoftmax) {
          const T factor = static_cast<T>(merger.Rescale(states[c].shift) / s.total_sum);
          k_.scale(y + c * chunk, y + c * chunk, n, factor);
        } else if (states[c].x_in_y) {
          k_.log_shift(y + c * chunk, y + c * chunk, n, m, temp_, log_hi, log_lo);
        } else if (stream) {
          k_.log_shift_stream(x + c * chunk, y + c * chunk, n, m, temp_, log_hi, log_lo);
        } else {
          k_.log_shift(x + c * chunk, y + c * chunk, n, m, temp_, log_hi, log_lo);
        }
      }
      if (stream) hwy::FlushStream();
    });
  }

 private:
  // The chunk's max (unless `known_max`: the previous chunk's pass took it), then (softmax) its
  // exponentials stored into y and summed, or (log ops) the split sums, with x copied into y
  // unless `stream`; with `next`, the exp pass also takes next->max. Returns whether the exp pass
  // ran (and so served `next`). A softmax chunk with neither (each chunk beyond the caches) takes
  // its max in its exp pass (512x32000, 1 thread: 0.265 -> 0.242 ns/element; 1x16777216: 0.359
  // -> 0.340).
  bool ProcessChunk(const T* x, T* y, std::int64_t n, Lookahead<T> ahead, bool stream,
                    const T* known_max, NextMax<T>* next, ChunkState<T>& state) const {
    const auto length = static_cast<std::size_t>(n);
    const bool softmax = op_ == RowOp::kSoftmax;
    state.x_in_y = false;
    if (known_max == nullptr && next == nullptr && softmax && x != y) {
      // Out of place, a softmax chunk with no max yet is summed with shift 0 in one pass that
      // also takes its max, as whole rows are (see WholeRows); where the max says otherwise, the
      // chunk is summed again below. In place, that pass would overwrite x.
      state.sums = k_.exp_sum_own_max(x, y, length, temp_, ahead);
      state.max = static_cast<T>(state.sums.max);
      if (ChooseShift(state.max, temperature_).zero) {
        state.shift = 0;
        return true;
      }
      known_max = &state.max;
    }
    state.max = known_max != nullptr ? *known_max : k_.max(x, length);
    if (!std::isfinite(state.max)) {
      // NaN or +inf make the whole row special; a chunk of only -inf contributes nothing (its
      // zeros are written in the output pass: writing them now could overwrite x in place before
      // the special-row scan reads it).
      state.shift = state.max;
      state.sums = ExpSum{};
      return false;
    }
    state.x_in_y = op_ == RowOp::kLogSoftmax && !stream;
    const bool writes_y = softmax || state.x_in_y;
    if (!writes_y) ahead.write = nullptr;
    const Shift<T> shift = ChooseShift(state.max, temperature_);
    state.shift = shift.value;
    T* out = writes_y ? y : nullptr;
    state.sums = next != nullptr ? k_.exp_sum_next_max(x, out, length, state.max, shift.value,
                                                       temp_, shift.zero, !softmax, ahead, *next)
                                 : k_.exp_sum(x, out, length, state.max, shift.value, temp_,
                                              shift.zero, !softmax, ahead);
    return true;
  }

  const RowKernels<T>& k_;
  RowOp op_;
  double temperature_;
  Temperature<T> temp_;
};

// Rows that are strided or stored as f16/bf16: staged through a buffer of compute type C, in three
// passes over the row (max; sums; output), all relative to the row max.
template <typename C, typename S>
class StagedRows {
 public:
  StagedRows(const RowKernels<C>& kernels, RowOp op, double temperature)
      : k_(kernels), op_(op), temperature_(temperature), temp_(MakeTemperature<C>(temperature)) {}

  void Run(const RowRef<S>& row) const {
    C buf[kStageLength];
    C m = -std::numeric_limits<C>::infinity();
    bool finite = true;
    ForEachBlock(row, buf, [&](std::int64_t, std::size_t n) {
      const C block_max = k_.max(buf, n);
      finite &= static_cast<bool>(std::isfinite(block_max));
      m = std::max(m, block_max);
    });
    if (!finite || !std::isfinite(m)) {
      if (WriteNonFiniteRow(op_, row)) return;
    }
    const bool softmax = op_ == RowOp::kSoftmax;
    const Shift<C> shift = ChooseShift(m, temperature_);
    SumMerger<C> merger(m, temperature_);
    ForEachBlock(row, buf, [&](std::int64_t, std::size_t n) {
      merger.Add(m, shift.value,
                 k_.exp_sum(buf, nullptr, n, m, shift.value, temp_, shift.zero, !softmax, {}));
    });
    const RowScalars<Wide<C>> s =
        merger.Result(op_, static_cast<std::size_t>(row.length), [&row](std::size_t i) {
          return static_cast<Wide<C>>(row.In(static_cast<std::int64_t>(i)));
        });
    if (op_ == RowOp::kLogSumExp) {
      *row.lse = FromDouble<S>(static_cast<double>(static_cast<Wide<C>>(m) + s.log_sum));
      return;
    }
    C log_hi, log_lo;
    SplitWide(s.log_sum, log_hi, log_lo);
    const C factor = softmax ? static_cast<C>(merger.Rescale(shift.value) / s.total_sum) : C(0);
    ForEachBlock(row, buf, [&](std::int64_t start, std::size_t n) {
      if (softmax) {
        (void)k_.exp_sum(buf, buf, n, m, shift.value, temp_, shift.zero, false, {});
        k_.scale(buf, buf, n, factor);
      } else {
        k_.log_shift(buf, buf, n, m, temp_, log_hi, log_lo);
      }
      for (std::size_t i = 0; i < n; ++i) {
        row.y[(start + static_cast<std::int64_t>(i)) * row.y_stride] = FromDouble<S>(buf[i]);
      }
    });
  }

 private:
  // Loads each block of the row into buf (as C) and calls body(start, n).
  template <typename Body>
  static void ForEachBlock(const RowRef<S>& row, C* buf, Body body) {
    for (std::int64_t start = 0; start < row.length; start += kStageLength) {
      const std::int64_t n = std::min(kStageLength, row.length - start);
      const S* src = row.x + start * row.x_stride;
      for (std::int64_t i = 0; i < n; ++i) buf[i] = static_cast<C>(ToDouble(src[i * row.x_stride]));
      body(start, static_cast<std::size_t>(n));
    }
  }

  const RowKernels<C>& k_;
  RowOp op_;
  double temperature_;
  Temperature<C> temp_;
};

// One call's rows of storage type S: picks the path (whole rows, columns, or row by row) and the
// threads.
template <typename S>
class RowJob {
  static constexpr bool kNative = std::is_same_v<S, float> || std::is_same_v<S, double>;
  using Native = std::conditional_t<std::is_same_v<S, double>, double, float>;

 public:
  RowJob(RowOp op, double temperature, const S* x, S* y, const RowSet& rows)
      : op_(op),
        temperature_(temperature),
        x_(x),
        y_(y),
        rows_(rows),
        length_(rows.length),
        limit_(temperature == 0 || std::isinf(temperature)),
        // A finite T > 0 that no compute type can divide by: scalar long double rows.
        extreme_(!limit_ && !TemperatureFits<double>(temperature) &&
                 !(!std::is_same_v<S, double> && TemperatureFits<float>(temperature))),
        // f16/bf16 compute in f32; any type falls back to f64 when T does not fit f32.
        compute_f32_(!std::is_same_v<S, double> && TemperatureFits<float>(temperature)),
        // f32 and f64 data computed in their own type (not f16/bf16, not an f32 T that needs f64).
        native_(kNative && (std::is_same_v<S, double> || compute_f32_)),
        contiguous_rows_(native_ && rows.x_stride == 1 &&
                         (op == RowOp::kLogSumExp || rows.y_stride == 1)),
        work_(rows.num_rows * std::max<std::int64_t>(rows.length, 1)),
        // x and y together beyond the last-level cache (32 MiB on the Zen 5 this was measured
        // on): the long-row path streams the output where a pass allows it.
        stream_output_(2 * work_ * static_cast<std::int64_t>(sizeof(S)) >=
                       (std::int64_t{32} << 20)),
        threads_(ThreadsFor(work_, rows.num_rows)),
        // A single long row: split it over the threads instead.
        threads_in_row_(rows.num_rows < 2 ? ThreadsFor(length_, length_ / 4096) : 1),
        table_(Kernels()) {}  // the one dynamic dispatch of this call

  Status Run() const {
    if (extreme_ && !kExtremeTemperatureRows) {
      return Status::InvalidArgument(
          "temperature " + std::to_string(temperature_) +
          " is outside the range smx can divide by on this platform (about 1e-307 to 1e307); use "
          "0 for the argmax limit or inf for the uniform one");
    }
    if constexpr (kNative) {
      if (!limit_ && !extreme_ && length_ > 0 && (TryWholeRows() || TryColumns())) {
        return Status::Ok();
      }
    }
    ParallelFor(rows_.num_rows, threads_in_row_ > 1 ? 1 : threads_,
                [this](std::int64_t begin, std::int64_t end) { EachRow(begin, end); });
    return Status::Ok();
  }

 private:
  // The common case: evenly spaced contiguous rows that each fit in one chunk. One kernel call
  // per thread.
  bool TryWholeRows() const {
    std::int64_t x_row_stride = 0, y_row_stride = 0;
    if (!contiguous_rows_ || length_ > ChunkLength<Native>(length_) ||
        !rows_.EvenlySpaced(x_row_stride, y_row_stride)) {
      return false;
    }
    const RowKernels<Native>& k = KernelsFor<Native>(table_);
    const Temperature<Native> temp = MakeTemperature<Native>(temperature_);
    ParallelFor(rows_.num_rows, threads_, [&](std::int64_t begin, std::int64_t end) {
      k.whole_rows(op_, x_ + begin * x_row_stride, x_row_stride, y_ + begin * y_row_stride,
                   y_row_stride, static_cast<std::size_t>(end - begin),
                   static_cast<std::size_t>(length_), temp, temperature_, [&](std::size_t r) {
                     const bool found = WriteNonFiniteRow(op_, RowAt(begin + r));
                     (void)found;  // always true: the kernel saw a max that is not finite
                   });
    });
    return true;
  }

  // A middle axis of a contiguous [outer, K, inner] tensor: vectorised across `inner`, one slab
  // per task; row o * inner + j is column j of slab o.
  bool TryColumns() const {
    if (!native_ || !rows_.contiguous || rows_.inner <= 1) return false;
    const RowKernels<Native>& k = KernelsFor<Native>(table_);
    const Temperature<Native> temp = MakeTemperature<Native>(temperature_);
    const std::int64_t inner = rows_.inner;
    const std::int64_t outer = rows_.num_rows / inner;
    const std::int64_t out_slab = op_ == RowOp::kLogSumExp ? inner : length_ * inner;
    ParallelFor(outer, ThreadsFor(work_, outer), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t o = begin; o < end; ++o) {
        const std::int64_t first_row = o * inner;
        const std::size_t done =
            k.columns(op_, x_ + o * length_ * inner, y_ + o * out_slab,
                      static_cast<std::size_t>(length_), static_cast<std::size_t>(inner), temp,
                      temperature_, [&](std::size_t j, std::size_t count) {
                        EachRow(first_row + static_cast<std::int64_t>(j),
                                first_row + static_cast<std::int64_t>(j + count));
                      });
        EachRow(first_row + static_cast<std::int64_t>(done), first_row + inner);
      }
    });
    return true;
  }

  // Rows [begin, end) one at a time, on whatever path each needs.
  void EachRow(std::int64_t begin, std::int64_t end) const {
    for (std::int64_t r = begin; r < end; ++r) {
      const RowRef<S> row = RowAt(r);
      if (length_ == 0) {
        if (op_ == RowOp::kLogSumExp) *row.lse = FromDouble<S>(-HUGE_VAL);
      } else if (limit_) {
        WriteLimitRow(op_, temperature_ == 0, row);
      } else if (extreme_) {
        WriteExtremeTemperatureRow(op_, temperature_, row);
      } else if (contiguous_rows_) {
        if constexpr (kNative) {
          bool next_row_follows = false;
          if (r + 1 < end && op_ != RowOp::kLogSumExp) {
            const RowRef<S> next = RowAt(r + 1);
            next_row_follows = next.x == row.x + length_ && next.y == row.y + length_;
          }
          ContiguousRows<Native>(KernelsFor<Native>(table_), op_, temperature_)
              .Run(row.x, row.y, row.lse, length_, threads_in_row_, stream_output_,
                   next_row_follows);
        }
      } else if (compute_f32_) {
        StagedRows<float, S>(table_.f32, op_, temperature_).Run(row);
      } else {
        StagedRows<double, S>(table_.f64, op_, temperature_).Run(row);
      }
    }
  }

  RowRef<S> RowAt(std::int64_t r) const {
    std::int64_t xo, yo;
    rows_.Offsets(r, xo, yo);
    RowRef<S> row{x_ + xo, rows_.x_stride, nullptr, rows_.y_stride, nullptr, length_};
    if (op_ == RowOp::kLogSumExp) {
      row.lse = y_ + yo;
    } else {
      row.y = y_ + yo;
    }
    return row;
  }

  RowOp op_;
  double temperature_;
  const S* x_;
  S* y_;
  const RowSet& rows_;
  std::int64_t length_;
  bool limit_;
  bool extreme_;
  bool compute_f32_;
  bool native_;
  bool contiguous_rows_;
  std::int64_t work_;
  bool stream_output_;
  int threads_;
  int threads_in_row_;
  const KernelTable& table_;
};

template <typename S>
Status RunTyped(RowOp op, double temperature, const S* x, S* y, const RowSet& rows) {
  return RowJob<S>(op, temperature, x, y, rows).Run();
}

}  // namespace

Status RunRows(RowOp op, double temperature, const ConstTensorRef& x, const TensorRef& y,
               const RowSet& rows) {
  if (rows.num_rows == 0) return Status::Ok();
  switch (x.dtype) {
    case DType::kF32:
      return RunTyped(op, temperature, static_cast<const float*>(x.data),
                      static_cast<float*>(y.data), rows);
    case DType::kF64:
      return RunTyped(op, temperature, static_cast<const double*>(x.data),
                      static_cast<double*>(y.data), rows);
    case DType::kF16:
      return RunTyped(op, temperature, static_cast<const float16*>(x.data),
                      static_cast<float16*>(y.data), rows);
    case DType::kBF16:
      return RunTyped(op, temperature, static_cast<const bfloat16*>(x.data),
                      static_cast<bfloat16*>(y.data), rows);
  }
  return Status(StatusCode::kInternal, "unknown dtype");
}

}  // namespace smx::internal
