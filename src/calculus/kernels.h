// The per-target kernels of the softmax calculus on contiguous rows of f32 or f64. The driver
// (calculus.cc) asks for the table once per call and stages other layouts and types.
#ifndef SMX_CALCULUS_KERNELS_H_
#define SMX_CALCULUS_KERNELS_H_

#include <cstddef>

#include "core/two_part_sum.h"
namespace smx::internal {

// A sum as hi + lo (lo: f64 data's compensation; 0 for f32 data, whose terms are exact in f64).
struct WideSum {
  double hi = 0;
  double lo = 0;
};

// hi + lo += s, compensated.
inline void Accumulate(WideSum& acc, WideSum s) { AddTwoPart(acc.hi, acc.lo, s.hi, s.lo); }

// A row's reductions (dot) run over fixed chunks of this many elements, added in order with
// Accumulate, so that the driver may split a long row's chunks over threads and still get the
// bits of one thread.
inline constexpr std::size_t kDotChunk = std::size_t{1} << 16;

// The sums of a row's entropy: with d_i = (zmax - z_i)/T >= 0 (zmax the row's finite max), the
// entries at the max (d_i = 0), rest = sum over the others of exp(-d_i), and weighted =
// sum_i exp(-d_i) d_i (0 log 0 = 0: -inf entries add nothing). NaN in the row makes them NaN.
struct EntropySums {
  double count = 0;
  double rest = 0;
  double weighted = 0;
};

// Evenly spaced contiguous rows of length n: row r of y, g and dz starts at r times its stride.
template <typename T>
struct BackwardRows {
  const T* y;
  const T* g;
  T* dz;
  std::ptrdiff_t y_stride, g_stride, dz_stride;
  std::size_t n;
  // The arrays are beyond the caches: softmax's f32 dz goes out with streaming stores, which
  // skip the read of each line before it is written (1 thread, against the copy of the same
  // bytes: [512, 32000] 1.25 -> 1.08, [2048, 8192] 1.2 -> 1.09, [32768, 128] 1.0 -> 0.8,
  // [1, 16777216] 1.6 -> 1.4; [4096, 1000] alike), and the f32 dot products prefetch ahead.
  bool stream = false;
  // f32 softmax only: each row's output pass from element pipeline_from on runs in one loop with
  // the next row's dot, so that the dot's reads from farther caches overlap the output pass
  // (SoftmaxBackwardF32ThenDot); n or more: one row's passes after the other's. The driver sets
  // it by how much of the rows' y and g L2 holds.
  std::size_t pipeline_from = static_cast<std::size_t>(-1);
};

template <typename T>
struct CalculusKernels {
  // sum_i a_i b_i (b null: sum_i a_i), f32 data in f64 lanes, f64 data compensated (TwoProduct
  // and TwoSum); over kDotChunk chunks where n is longer; f32 data prefetched ahead, as for data
  // beyond the caches.
  WideSum (*dot)(const T* a, const T* b, std::size_t n);
  // dz_i = y_i (g_i - s) scale: softmax's backward (and its JVP), s = <g, y>; stream as in
  // BackwardRows (the caller then ends with hwy::FlushStream()).
  void (*softmax_backward)(const T* y, const T* g, T* dz, std::size_t n, WideSum s, double scale,
                           bool stream);
  // dz_i = (g_i - exp(out_i) S) scale: log_softmax's backward, S = sum_i g_i.
  void (*log_softmax_backward)(const T* out, const T* g, T* dz, std::size_t n, WideSum sum_g,
                               double scale);
  // Both backward passes (dot, then output) over rows [begin, end) of a block in one call, the
  // per-row kernels inlined: short rows paid two indirect calls and their setup each
  // (softmax_backward, 1 thread, ns/element: [64, 128] in cache 0.20 -> 0.13, [8192, 128] in L3
  // 0.215 -> 0.148). y is softmax's y, or log_softmax's out for the log version.
  void (*softmax_backward_rows)(const BackwardRows<T>& rows, std::size_t begin, std::size_t end,
                                double scale);
  void (*log_softmax_backward_rows)(const BackwardRows<T>& rows, std::size_t begin, std::size_t end,
                                    double scale);
  // The max of z (n >= 1; NaN handling unspecified: the sums below carry a NaN).
  T (*max)(const T* z, std::size_t n);
  // EntropySums of z for its finite max zmax and 1/T.
  EntropySums (*entropy_sums)(const T* z, std::size_t n, T zmax, double inv_t);
};

struct CalculusKernelTable {
  CalculusKernels<float> f32;
  CalculusKernels<double> f64;
};

// The table for the best target of this CPU (honours hwy::SetSupportedTargetsForTest).
const CalculusKernelTable& GetCalculusKernels();

}  // namespace smx::internal

#endif  // SMX_CALCULUS_KERNELS_H_
