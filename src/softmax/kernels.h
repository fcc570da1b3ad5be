// The per-target kernel table of the softmax family. The driver (softmax.cc, row_driver.cc) asks
// for the table once per call (one dynamic dispatch) and then calls its entries per row or chunk.
// Everything here works on contiguous arrays of float or double; other layouts and types are
// staged through small buffers by the driver.
#ifndef SMX_SOFTMAX_KERNELS_H_
#define SMX_SOFTMAX_KERNELS_H_

#include <cmath>
#include <cstddef>

#include "core/function_ref.h"
#include "softmax/row_math.h"

namespace smx::internal {

// The divisor of the logits: T = 1 skips the division entirely (a separate kernel instance).
template <typename T>
struct Temperature {
  bool scaled = false;  // false: T == 1
  T t = 1;              // T rounded to the compute type; T = t + t_lo (the caller's double T)
  T t_lo = 0;
  T inv_t = 1;  // rounded 1/T; the exact quotient is recovered with an FMA residual
};

// The Temperature of a validated finite T > 0 in compute type T.
template <typename T>
Temperature<T> MakeTemperature(double temperature) {
  Temperature<T> temp;
  temp.t = static_cast<T>(temperature);
  temp.t_lo = static_cast<T>(temperature - static_cast<double>(temp.t));
  temp.inv_t = static_cast<T>(1 / temperature);
  temp.scaled = temperature != 1;
  return temp;
}

// Whether a finite T > 0 can be used in compute type T: T and 1/T must both be normal numbers,
// or the residual arithmetic of the shifted logit loses its exactness.
template <typename T>
bool TemperatureFits(double temperature) {
  const T t = static_cast<T>(temperature);
  return std::isnormal(t) && std::isnormal(T(1) / t);
}

// Sums of exp((x_i - s)/T). With `split_max`, the entries equal to the max are counted in
// `max_count` and left out of `sum`, so that log(sum) can be taken as log(count) +
// log1p(rest/count) without losing the rest when one entry dominates.
// Trivially constructible: the driver keeps up to 1024 of them on the stack per row.
struct ExpSum {
  double sum;        // f32 input: summed in f64; f64 input: the high part of a
  double sum_lo;     //   compensated (TwoSum) sum, whose error term is sum_lo
  double max_count;  // 0 unless split_max
  double max;        // the max of x, where the pass took it (exp_sum_own_max); else unset
};

// What an exp-sum pass brings toward the cache while it computes (null: nothing): the input the
// next pass of the caller will read, and the output it will write. Prefetching the output for
// write lets its stores hit lines already owned instead of waiting on a read-for-ownership each
// (measured on [4096, 1000] f32, 2 threads: softmax 0.140 -> 0.120 ns/element, log_softmax
// 0.174 -> 0.133). A prefetch never faults, so addresses past the caller's arrays are harmless.
template <typename T>
struct Lookahead {
  const T* read = nullptr;
  const T* write = nullptr;
};

// The next chunk (x, n >= 1 elements) whose max an exp pass takes in its own loop (`max`), so
// that the next chunk needs no max pass of its own: the exp loop is bound by the FMA pipes, and
// the max's loads and compares fill the others, where a separate pass read its chunk from L2 at
// ~1.4 cycles per line, ~11% of a long softmax row. Same semantics as RowKernels::max.
template <typename T>
struct NextMax {
  const T* x;
  std::size_t n;
  T max;
};

// The whole op on `rows` contiguous rows of length n (1 <= n <= one chunk), row r at
// x + r * x_stride and y + r * y_stride (logsumexp writes y[r * y_stride]). Rows whose max is not
// finite are left alone and passed to `special`, for the driver to finish.
template <typename T>
using WholeRowsFn = void (*)(RowOp op, const T* x, std::ptrdiff_t x_stride, T* y,
                             std::ptrdiff_t y_stride, std::size_t rows, std::size_t n,
                             const Temperature<T>& temp, double temperature,
                             FunctionRef<void(std::size_t)> special);

// The op along the middle axis of one contiguous [K, inner] slab (x, y at the slab's start;
// logsumexp writes inner values to y). Computes the leading columns that fill whole vectors and
// returns how many; column blocks whose max is not finite are passed to fallback(first, count).
template <typename T>
using ColumnsFn = std::size_t (*)(RowOp op, const T* x, T* y, std::size_t length, std::size_t inner,
                                  const Temperature<T>& temp, double temperature,
                                  FunctionRef<void(std::size_t, std::size_t)> fallback);

template <typename T>
struct RowKernels {
  // max of x[0..n), n >= 1. NaN handling is unspecified (callers detect NaN through the sums).
  T (*max)(const T* x, std::size_t n);
  // Returns the sums of e_i = exp((x_i - s)/T) for a shift s (the max, or 0: see ChooseShift).
  // `zero_shift`: s is 0, so x_i - s is x_i itself and no rounding residual is computed.
  // `split_max` (the log ops): the entries equal to `max` are counted instead of summed. When
  // `out` != nullptr (it may be x), it receives e_i (softmax) or, with split_max, a copy of x_i:
  // the log ops' output pass then runs in place on lines that are already in cache and owned
  // (measured on 16x128256 f32: log_softmax 0.23 -> 0.187 ns/element). `ahead`: n elements of each
  // to bring toward the cache meanwhile (the next chunk or row).
  ExpSum (*exp_sum)(const T* x, T* out, std::size_t n, T max, T s, const Temperature<T>& temp,
                    bool zero_shift, bool split_max, Lookahead<T> ahead);
  // exp_sum that also takes next.max (see NextMax).
  ExpSum (*exp_sum_next_max)(const T* x, T* out, std::size_t n, T max, T s,
                             const Temperature<T>& temp, bool zero_shift, bool split_max,
                             Lookahead<T> ahead, NextMax<T>& next);
  // exp_sum with shift 0 and no split_max for a chunk whose max is not known yet: returns its max
  // too (ExpSum::max). Its sums are exp_sum's where ChooseShift(max).zero, which the caller checks.
  ExpSum (*exp_sum_own_max)(const T* x, T* out, std::size_t n, const Temperature<T>& temp,
                            Lookahead<T> ahead);
  // y_i = e_i * factor (y may be e).
  void (*scale)(const T* e, T* y, std::size_t n, T factor);
  // y_i = (x_i - m)/T - (log_hi + log_lo) (y may be x). The division's residual is kept; the
  // subtraction's is not needed: |y_i| >= |x_i - m|, so its rounding stays below half an ulp of
  // y_i (nothing amplifies it, unlike in the exponential).
  void (*log_shift)(const T* x, T* y, std::size_t n, T m, const Temperature<T>& temp, T log_hi,
                    T log_lo);
  // The same with streaming stores, for outputs beyond the caches (then hwy::FlushStream()).
  void (*log_shift_stream)(const T* x, T* y, std::size_t n, T m, const Temperature<T>& temp,
                           T log_hi, T log_lo);
  WholeRowsFn<T> whole_rows;
  ColumnsFn<T> columns;
};

struct KernelTable {
  RowKernels<float> f32;
  RowKernels<double> f64;
};

// The table for the best target of this CPU (honours hwy::SetSupportedTargetsForTest).
const KernelTable& Kernels();

}  // namespace smx::internal

#endif  // SMX_SOFTMAX_KERNELS_H_
