// The per-target kernels of sampling, on one contiguous row of float or double (the compute
// type; the driver stages f16, bf16 and strided rows). The row sampler (row_sampler.cc) asks for
// the table once per call and composes these passes.
#ifndef SMX_SAMPLING_KERNELS_H_
#define SMX_SAMPLING_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "softmax/kernels.h"

namespace smx::internal {

// A token's place in the total order of sampling: higher value first, then lower index.
template <typename T>
struct RankedToken {
  T value;
  std::int64_t index;
};

template <typename T>
inline bool RankedBefore(const RankedToken<T>& a, const RankedToken<T>& b) {
  return a.value > b.value || (a.value == b.value && a.index < b.index);
}

// Which tokens a pass counts: those with e_i >= min_e (min-p; 0 counts every token with e_i >=
// 0, all of them), and, when `has_pivot`, only those ranked before the pivot.
template <typename T>
struct TokenFilter {
  T min_e = 0;
  bool has_pivot = false;
  RankedToken<T> pivot{0, 0};
};

template <typename T>
struct SamplingKernels {
  // The max of x[0..n) (n >= 1) and whether some entry is NaN or +inf.
  T (*scan)(const T* x, std::size_t n, bool* nan_or_inf);
  // The first i with x_i == value (n if none).
  std::size_t (*find_first)(const T* x, std::size_t n, T value);
  // e_i = exp((x_i - m)/T) into e (mode kExp), or e_i = 1 for finite x_i (kUniform, T = +inf),
  // or e_i = [x_i == m] (kTies, T below what the compute type can divide by); returns the f64
  // sum of all e_i, and in *kept the sum of those >= min_e.
  double (*exponentials)(const T* x, T* e, std::size_t n, T m, const Temperature<T>& temp, int mode,
                         T min_e, double* kept);
  // The f64 sums of e_i over the tokens ranked before `before`, over all the others, and over
  // those ranked before it that `filter` counts (the top-p test of a drawn token, min-p's kept
  // mass, the exact top-p mass).
  void (*mass_split)(const T* x, const T* e, std::size_t n, RankedToken<T> before,
                     const TokenFilter<T>& filter, double* before_sum, double* after_sum,
                     double* counted);
  // The inverse CDF in index order over the tokens `filter` counts: the first i whose running
  // f64 sum exceeds target; if rounding leaves none, the last counted token with e_i > 0; -1
  // when no counted token has e_i > 0.
  std::int64_t (*walk)(const T* x, const T* e, std::size_t n, const TokenFilter<T>& filter,
                       double target);
  // The first k tokens of x in the sampling order among those > -inf (fewer if fewer are finite),
  // in no particular order, into `top` (resized); sets *nan_or_inf as scan does. `buffer` is
  // scratch that the kernel grows as it needs.
  void (*top_k)(const T* x, std::size_t n, std::size_t k, std::vector<RankedToken<T>>& top,
                std::vector<T>& value_buffer, std::vector<std::int64_t>& index_buffer,
                bool* nan_or_inf);
};

enum ExpMode : int { kExp = 0, kUniform = 1, kTies = 2 };

struct SamplingKernelTable {
  SamplingKernels<float> f32;
  SamplingKernels<double> f64;
  // The Gumbel noise -log(-log u) of tokens [0, n) of a row, u from its Philox token stream
  // (RowRandom::TokenUniforms of philox.h).
  void (*gumbel_noise)(std::uint64_t seed, std::uint64_t row_id, std::uint32_t step, double* out,
                       std::size_t n);
};

// The table for the best target of this CPU (honours hwy::SetSupportedTargetsForTest).
const SamplingKernelTable& GetSamplingKernels();

}  // namespace smx::internal

#endif  // SMX_SAMPLING_KERNELS_H_
