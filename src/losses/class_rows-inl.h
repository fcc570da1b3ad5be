// Cross-entropy with class indices on Highway vectors, included by losses/loss_kernels.cc once
// per SIMD target.
//
// Softmax's row kernels plus a scalar or two per row: the max (taken during the previous row's
// pass); exp(z) (or exp(z - max) where the max is outside [0, 60]) summed (f64 sums) and stored
// into the gradient row; the gradient row scaled in place while it is still in L1 (plus the
// smoothing's -B w); then the target's entry rewritten from p_t - 1 formed without cancellation.
// The loss needs only the row's sum, its max and z_t. Rows longer than one chunk go chunk by
// chunk through the driver's loop (internal::ChunkLoop).
//
// Per-target toggle guard (not #pragma once): this file is included once per target.
#if defined(SMX_LOSSES_CLASS_ROWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_LOSSES_CLASS_ROWS_INL_H_
#undef SMX_LOSSES_CLASS_ROWS_INL_H_
#else
#define SMX_LOSSES_CLASS_ROWS_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/two_part_sum.h"
#include "core/widen-inl.h"
#include "hwy/highway.h"
#include "losses/kernels.h"
#include "softmax/exp-inl.h"
#include "softmax/row_kernels-inl.h"
#include "softmax/wide_log-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// sum_c w_c (m - z_c) (w null: every w_c = 1; terms with w_c = 0 are 0, even for z_c = -inf),
// the label smoothing's part of the loss. Every term is >= 0, so it has no cancellation: f64 lanes
// (f32 data promoted, its m - z_c exact), compensated for long f64 rows.
template <typename T>
double GapSum(const T* z, const T* w, std::size_t n, T m) {
  using DD = hn::ScalableTag<double>;
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  const auto vm = hn::Set(dd, static_cast<double>(m));
  auto widen = [&](const T* p) HWY_ATTR { return LoadWide(p, N); };
  auto hi = hn::Zero(dd), lo = hn::Zero(dd);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    auto term = hn::Sub(vm, widen(z + i));
    if (w != nullptr) {
      const auto wv = widen(w + i);
      term = hn::IfThenZeroElse(hn::Eq(wv, hn::Zero(dd)), hn::Mul(term, wv));
    }
    const auto s = hn::Add(hi, term);
    lo = hn::Add(lo, TwoSumError(hi, term, s));
    hi = s;
  }
  double sum = hn::GetLane(hn::SumOfLanes(dd, hi));
  if (std::isinf(sum)) return sum;  // a masked class in the sum: its error terms are NaN
  double err = hn::GetLane(hn::SumOfLanes(dd, lo));
  for (; i < n; ++i) {
    const double wi = w != nullptr ? static_cast<double>(w[i]) : 1.0;
    if (wi == 0) continue;
    const double term = (static_cast<double>(m) - static_cast<double>(z[i])) * wi;
    const double s = sum + term;
    const double bb = s - sum;
    err += (sum - (s - bb)) + (term - bb);
    sum = s;
  }
  return std::isinf(sum) ? sum : sum + err;
}

// g_c = a e_c - b w_c (w null: a e_c - b), in place over e.
template <typename T>
void ScaleSubtract(T* e, const T* w, std::size_t n, T a, T b) {
  const hn::ScalableTag<T> d;
  const auto va = hn::Set(d, a), vb = hn::Set(d, b);
  if (w == nullptr) {
    TransformRow(d, e, e, n, [&](auto v) HWY_ATTR { return hn::MulSub(v, va, vb); });
    return;
  }
  const std::size_t N = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto wb = hn::Mul(hn::LoadU(d, w + i), vb);
    hn::StoreU(hn::MulSub(hn::LoadU(d, e + i), va, wb), d, e + i);
  }
  for (; i < n; ++i) e[i] = e[i] * a - b * w[i];
}

template <typename T>
void FillRow(T* g, std::size_t n, T value) {
  if (g != nullptr) std::fill(g, g + n, value);
}

// The rows of a block whose loss still needs log S = log(count) + log1p(rest/count): taken for the
// whole block at once on f64 vectors (one libm log1p per row cost 17% of [32768, 128]).
struct PendingLogs {
  static constexpr std::size_t kRows = 64;
  std::size_t size = 0;
  HWY_ALIGN double arg[kRows];  // rest / count
  double count[kRows];          // entries at the max (log(count) is added when > 1)
  double base[kRows];           // the loss without its log S term
  double coef[kRows];           // the factor of log S in the loss
  double* out[kRows];           // where the row's loss goes
};

void FinishLogs(PendingLogs& p) {
  const hn::ScalableTag<double> dd;
  const std::size_t N = hn::Lanes(dd);
  for (std::size_t i = p.size; i % N != 0; ++i) p.arg[i] = 0;  // whole vectors; unused lanes
  for (std::size_t i = 0; i < p.size; i += N) {
    hn::Store(Log1pOfSum(dd, hn::Load(dd, p.arg + i)), dd, p.arg + i);
  }
  for (std::size_t i = 0; i < p.size; ++i) {
    const double log_s = p.arg[i] + (p.count[i] == 1 ? 0.0 : std::log(p.count[i]));
    *p.out[i] = p.coef[i] == 0 ? p.base[i] : p.base[i] + p.coef[i] * log_s;
  }
  p.size = 0;
}

// The sums of one row for its loss and gradient: S = sum_c exp(z_c - m) as count + rest, where
// log S = log(count) + log1p(rest / count) - log_offset.
struct RowSums {
  double count = 1;       // entries at the max (or 1 for a sum taken whole)
  double rest = 0;        // the others' exp(z_c - m), or the whole sum's excess over 1
  double log_offset = 0;  // m for a sum taken with shift 0 (then count + rest = sum_c exp(z_c))
  // The target is a max entry and S - 1 = (count - 1) + rest holds without cancellation.
  bool exact_max_term = false;
};

// Whether a row of max m is summed with shift 0: exp(z_c) for z_c <= m needs no max
// subtraction, hence no rounding residual (5 of the exponential's ~25 vector operations), and
// the sum is split only for the rows that need it (SplitSums). m <= 60 keeps every exp(z_c)
// far below f32's overflow (e^88), and m >= 0 loses nothing to the exponential's flush below
// e^-87 that the shifted exponentials keep. f32 only: log S is then log(s0) - m, whose absolute
// error (1e-13 m, Log1pOfSum's) is far below an f32 loss's ulp but not below an f64 one's.
template <typename T>
HWY_INLINE bool ZeroShiftFits(T m) {
  return sizeof(T) == 4 && m >= 0 && m <= T(60);
}

// The exponential pass of a row of max m, exponentials stored in g (if not null), the next row's
// max taken in the same loop (if next is not null). kZeroShift: exp(z_c) summed whole
// (ExpSum::sum); otherwise exp(z_c - m) with the entries at the max counted (max_count), not
// summed: in f32 lanes 1 + rest would round rest away, and a loss of 1e-7 is all in rest.
template <bool kZeroShift, class D, typename T = hn::TFromD<D>>
HWY_INLINE internal::ExpSum ExpPass(D d, const T* x, T* g, std::size_t n, T m,
                                    internal::Lookahead<T> ahead, internal::NextMax<T>* next) {
  const internal::Temperature<T> unit{};
  constexpr bool kSplit = !kZeroShift;
  const T shift = kZeroShift ? T(0) : m;
  if (next != nullptr) {
    return g != nullptr ? ExpSumImpl<false, kZeroShift, true, kSplit, MaxTaken::kNextChunk, true>(
                              d, x, g, n, m, shift, unit, ahead, next)
                        : ExpSumImpl<false, kZeroShift, false, kSplit, MaxTaken::kNextChunk>(
                              d, x, g, n, m, shift, unit, ahead, next);
  }
  return g != nullptr ? ExpSumImpl<false, kZeroShift, true, kSplit, MaxTaken::kGiven, true>(
                            d, x, g, n, m, shift, unit, ahead, nullptr)
                      : ExpSumImpl<false, kZeroShift, false, kSplit, MaxTaken::kGiven>(
                            d, x, g, n, m, shift, unit, ahead, nullptr);
}

// The sum of the entries of e below e_max, from stored exponentials.
template <typename T>
double SumBelow(const T* e, std::size_t n, T e_max) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const auto vmax = hn::Set(d, e_max);
  LaneSums<decltype(d)> acc;
  auto add = [&](hn::Vec<decltype(d)> v)
                 HWY_ATTR { acc.Add(hn::IfThenElseZero(hn::Lt(v, vmax), v)); };
  std::size_t i = 0;
  for (; i + N <= n; i += N) add(hn::LoadU(d, e + i));
  if (i < n) {
    HWY_ALIGN T buf[hn::MaxLanes(decltype(d)())] = {};
    std::memcpy(buf, e + i, (n - i) * sizeof(T));
    add(hn::Load(d, buf));
  }
  double sum, sum_lo;
  acc.Reduce(sum, sum_lo);
  return sum + sum_lo;
}

// A row summed with shift 0 (s0 = sum_c exp(z_c), the exponentials in e if not null) whose target
// is a max entry, as RowSums: taken whole unless the target holds most of the mass; S - 1 =
// s0 e^-m - 1 would then cancel (a loss of 1e-7 is all in it), so that row's sum is split again,
// from the stored exponentials, or (no gradient) from x with the shift m.
template <class D, typename T = hn::TFromD<D>>
RowSums SplitAtTargetMax(D d, const T* x, const T* e, std::size_t n, T m, std::size_t t,
                         double s0) {
  const RowSums whole{1, s0 - 1, static_cast<double>(m), false};
  const double e_max = e != nullptr ? static_cast<double>(e[t]) : std::exp(static_cast<double>(m));
  if (s0 >= 1.5 * e_max) return whole;  // p_t <= 2/3
  // Here the target is the only entry at the max: a second one would make s0 >= 2 e_max.
  if (e != nullptr) return {1, SumBelow(e, n, e[t]) / e_max, 0, true};
  const internal::ExpSum es =
      ExpPass<false>(d, x, static_cast<T*>(nullptr), n, m, internal::Lookahead<T>{},
                     static_cast<internal::NextMax<T>*>(nullptr));
  return {es.max_count, es.sum + es.sum_lo, 0, true};
}

// A row summed with shift 0 as RowSums (see SplitAtTargetMax). zt: the target's logit, read
// before e (possibly x itself) was written. Inlined, the rare split out of line: called whole for
// every row it cost [32768, 128] 2%.
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE RowSums SplitSums(D d, const T* x, const T* e, std::size_t n, T m, T zt, std::size_t t,
                             double s0) {
  if (zt != m) return {1, s0 - 1, static_cast<double>(m), false};  // p_t <= 1/2: no cancelling
  return SplitAtTargetMax(d, x, e, n, m, t, s0);
}

// ---- Rows longer than one chunk (LossChunkLength): their chunks through the driver's loop ----

// The larger of the entries of v[0, count) (a NaN among them may be dropped: the sums see it).
template <typename T>
T MaxOf(const T* v, std::size_t count) {
  T m = v[0];
  for (std::size_t c = 1; c < count; ++c) m = v[c] > m ? v[c] : m;
  return m;
}

// acc += s: the counts, and the sums compensated, added in the caller's (chunk) order.
HWY_INLINE void AddExpSum(internal::ExpSum& acc, const internal::ExpSum& s) {
  internal::AddTwoPart(acc.sum, acc.sum_lo, s.sum, s.sum_lo);
  acc.max_count += s.max_count;
}

template <typename T>
T LongRowMax(const T* x, std::size_t n, std::size_t chunk, internal::ChunkLoop chunks) {
  const std::size_t count = (n + chunk - 1) / chunk;
  T maxima[internal::kMaxLossChunks];
  chunks(count, [&](std::size_t begin, std::size_t end) HWY_ATTR {
    for (std::size_t c = begin; c < end; ++c) {
      maxima[c] = RowMax(x + c * chunk, std::min(chunk, n - c * chunk));
    }
  });
  return MaxOf(maxima, count);
}

// ExpPass chunk by chunk, each chunk taking the same chunk of the next row's max (next, if not
// null), the sums added in chunk order.
template <bool kZeroShift, typename T>
internal::ExpSum LongRowExpPass(const T* x, T* g, std::size_t n, T m, std::size_t chunk,
                                internal::NextMax<T>* next, internal::ChunkLoop chunks) {
  const std::size_t count = (n + chunk - 1) / chunk;
  internal::ExpSum sums[internal::kMaxLossChunks];
  T next_maxima[internal::kMaxLossChunks];
  chunks(count, [&](std::size_t begin, std::size_t end) HWY_ATTR {
    const hn::ScalableTag<T> d;
    for (std::size_t c = begin; c < end; ++c) {
      const std::size_t at = c * chunk, len = std::min(chunk, n - at);
      // No software prefetch: the hardware's streams serve whole chunks. Prefetching the next
      // chunk (read, and write where this thread writes it) measured slower (1 thread,
      // ns/element: [16, 128256] 0.169 without, 0.201 with; [1, 16777216] 0.547, 0.573).
      internal::NextMax<T> chunk_next{next != nullptr ? next->x + at : nullptr, len, T(0)};
      sums[c] =
          ExpPass<kZeroShift>(d, x + at, g != nullptr ? g + at : nullptr, len, m,
                              internal::Lookahead<T>{}, next != nullptr ? &chunk_next : nullptr);
      next_maxima[c] = chunk_next.max;
    }
  });
  internal::ExpSum total = sums[0];
  for (std::size_t c = 1; c < count; ++c) AddExpSum(total, sums[c]);
  if (next != nullptr) next->max = MaxOf(next_maxima, count);
  return total;
}

// A long row whose max is not known yet, its gradient not over its logits: exp(z_c) with shift 0
// stored and summed in the pass that also finds the max (ExpSum::max), as softmax's one pass
// does, instead of a max pass and then the exponentials. Valid where ZeroShiftFits(max), which
// the caller checks.
template <typename T>
internal::ExpSum LongRowOwnMaxPass(const T* x, T* g, std::size_t n, std::size_t chunk,
                                   internal::ChunkLoop chunks) {
  const std::size_t count = (n + chunk - 1) / chunk;
  internal::ExpSum sums[internal::kMaxLossChunks];
  chunks(count, [&](std::size_t begin, std::size_t end) HWY_ATTR {
    const internal::Temperature<T> unit{};
    for (std::size_t c = begin; c < end; ++c) {
      const std::size_t at = c * chunk;
      sums[c] = ChunkOwnMaxExpSum(x + at, g != nullptr ? g + at : nullptr, std::min(chunk, n - at),
                                  unit, internal::Lookahead<T>{});
    }
  });
  internal::ExpSum total = sums[0];
  for (std::size_t c = 1; c < count; ++c) {
    AddExpSum(total, sums[c]);
    total.max = sums[c].max > total.max ? sums[c].max : total.max;
  }
  return total;
}

// g_c = a e_c - b w_c (b = 0 without label smoothing: g_c = a e_c), over the chunks of a long
// row or at once.
template <bool kLong, typename T>
HWY_INLINE void ScaleGradient(T* g, const T* w, std::size_t n, T a, T b, bool smoothing,
                              std::size_t chunk, internal::ChunkLoop chunks) {
  auto scale = [&](std::size_t at, std::size_t len) HWY_ATTR {
    if (smoothing) {
      ScaleSubtract(g + at, w != nullptr ? w + at : nullptr, len, a, b);
    } else {
      RowScale(g + at, g + at, len, a);
    }
  };
  if constexpr (!kLong) return scale(0, n);
  chunks((n + chunk - 1) / chunk, [&](std::size_t begin, std::size_t end) HWY_ATTR {
    for (std::size_t c = begin; c < end; ++c) scale(c * chunk, std::min(chunk, n - c * chunk));
  });
}

// What a row's exponential pass leaves for its second pass (FinishClassRow).
template <typename T>
struct SummedRow {
  bool open = false;  // false: the row is already finished (ignored, special, NaN or +inf max)
  bool zero_shift = false;
  T m = 0, zt = 0;  // the row max and the target's logit
  double gap = 0;   // GapSum's, with label smoothing
  // The pass's sum (zero_shift: of exp(z_c); otherwise of exp(z_c - m) but the max entries,
  // counted in max_count). Kept as two doubles, not the pass's ExpSum: copying that struct out
  // of the inlined pass read it back whole right after its fields were stored, a store-forwarding
  // stall that cost 20% of [32768, 128].
  double sum = 0, max_count = 0;
};

// The loss of a summed row (into `pending`) and its gradient row from the exponentials its pass
// stored there: g_c = A e_c - B w_c, then g_t from p_t - 1.
template <bool kLong, bool kPlain, typename T>
HWY_INLINE void FinishClassRow(const internal::ClassRows<T>& a, std::size_t r,
                               const SummedRow<T>& row, PendingLogs& pending, std::size_t chunk,
                               internal::ChunkLoop chunks) {
  constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();
  const hn::ScalableTag<T> d;
  const std::size_t n = a.classes;
  const T* x = a.logits + static_cast<std::ptrdiff_t>(r) * a.logits_stride;
  T* g = a.grad != nullptr ? a.grad + static_cast<std::ptrdiff_t>(r) * a.grad_stride : nullptr;
  const std::size_t t = static_cast<std::size_t>(a.target[r]);
  const T m = row.m, zt = row.zt;
  // sums.count entries at the max and sums.rest, the rest of S = sum_c exp(z_c - m).
  RowSums sums;
  double inv_s;  // 1 / sum_c e_c, for the e_c the pass left in g
  if (row.zero_shift) {
    const double s0 = row.sum;
    if (std::isnan(s0)) {
      a.row_loss[r] = kNaN;
      FillRow(g, n, kNaN);
      return;
    }
    // One division per row, 1/S, then products: three divisions had cost 2% at K = 128 (1
    // thread, [32768, 128]: 0.339 -> 0.332 ns/element; [4096, 1000] unchanged).
    inv_s = 1 / s0;
    sums = SplitSums(d, x, g, n, m, zt, t, s0);
  } else {
    sums.count = row.max_count;
    sums.rest = row.sum;
    sums.exact_max_term = zt == m;
    if (std::isnan(sums.rest)) {
      a.row_loss[r] = kNaN;
      FillRow(g, n, kNaN);
      return;
    }
    inv_s = 1 / (sums.count + sums.rest);
  }
  const double count = sums.count, rest = sums.rest;
  // loss = main ((m - z_t) + log S) + eps_c (W log S + gap), log S taken with the block's.
  const double eps = kPlain ? 0.0 : a.smoothing, eps_c = eps / static_cast<double>(n);
  const T* weight = kPlain ? nullptr : a.weight;
  const double wt = weight != nullptr ? static_cast<double>(weight[t]) : 1.0;
  const double main = (1 - eps) * wt;
  const double coef = main + eps_c * a.weight_sum;
  if (pending.size == PendingLogs::kRows) FinishLogs(pending);
  const std::size_t slot = pending.size++;
  pending.arg[slot] = count == 1 ? rest : rest / count;
  pending.count[slot] = count;
  pending.base[slot] =
      (main != 0 ? main * (static_cast<double>(m) - static_cast<double>(zt)) : 0.0) +
      (eps > 0 ? eps_c * row.gap : 0.0) - coef * sums.log_offset;
  pending.coef[slot] = coef;
  pending.out[slot] = &a.row_loss[r];
  if (g == nullptr) return;
  // p_t - 1 = (e_t - S)/S: for a max entry e_t = 1 and S - 1 = (count - 1) + rest, kept apart;
  // any other entry has p_t <= 1/2 (nothing cancels) and its e_t is where the pass stored it.
  double pt, pt_minus_1;
  if (sums.exact_max_term) {
    const double inv_rel = 1 / (count + rest);
    pt = inv_rel;
    pt_minus_1 = -((count - 1) + rest) * inv_rel;
  } else {
    pt = static_cast<double>(g[t]) * inv_s;
    pt_minus_1 = pt - 1;
  }
  // g_c = scale (main p_c + eps_c (W p_c - w_c)) = A e_c - B w_c; then g_t from p_t - 1.
  const double scale = a.grad_scale;
  ScaleGradient<kLong>(g, weight, n, static_cast<T>(scale * coef * inv_s),
                       static_cast<T>(scale * eps_c), eps > 0, chunk, chunks);
  g[t] = static_cast<T>(scale * (main * pt_minus_1 + eps_c * (a.weight_sum * pt - wt)));
}

// Short and long rows (kLong: more than one chunk) through their own instances: the long rows'
// branches in the short rows' loop cost [32768, 128] 6-10% (1 thread).
template <bool kLong, bool kPlain, typename T>
void ClassRowsOf(const internal::ClassRows<T>& args,
                 internal::FunctionRef<void(std::size_t)> special, internal::ChunkLoop chunks) {
  // A copy of its own: through the caller's reference every store to a row's loss (a double)
  // might have changed the options, which each row then loaded and divided again.
  const internal::ClassRows<T> a = args;
  constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();
  const hn::ScalableTag<T> d;
  const std::size_t n = a.classes;
  const std::size_t chunk = internal::LossChunkLength<T>(n);
  PendingLogs pending;
  // The next row's max, taken inside this row's exp pass (NextMax): the exp loop is bound by the
  // FMA pipes and the max's loads and compares fill the others, where a max pass of its own cost
  // every row a read of it.
  internal::NextMax<T> next{nullptr, n, T(0)};
  // How many rows ahead the prefetches run: at least two, and at least 16 KiB (short rows; 4, 16
  // and 64 KiB measured alike within the noise, 0.33-0.34 ns/element at K = 128).
  const std::size_t prefetch_rows =
      std::max<std::size_t>(2, (16384 + n * sizeof(T) - 1) / (n * sizeof(T)));
  bool have_max = false;
  // Row r's exponential pass (into its gradient row), or the whole row where it needs no
  // more. Inlined (as is FinishClassRow): called, each pass re-broadcast its constants and
  // the pair measured slower than single rows.
  auto sum_row = [&](std::size_t r, SummedRow<T> & row) HWY_ATTR __attribute__((always_inline)) {
    row.open = false;
    const T* x = a.logits + static_cast<std::ptrdiff_t>(r) * a.logits_stride;
    T* g = a.grad != nullptr ? a.grad + static_cast<std::ptrdiff_t>(r) * a.grad_stride : nullptr;
    const std::int64_t t = a.target[r];
    const bool known = have_max;
    have_max = false;
    if (t == a.ignore_index) {
      a.row_loss[r] = 0;
      FillRow(g, n, T(0));
      return;
    }
    // A long row without its max, out of place: its max and shift-0 sums in one pass, kept
    // where the max allows shift 0 (medians of 5, ns/element, 1 / 2 threads: [1, 16777216]
    // 0.51 / 0.48 -> 0.40 / 0.36; [16, 128256] 0.169 / 0.105 -> 0.148 / 0.078).
    internal::ExpSum own{};
    bool own_sums = false;
    T m;
    if (known) {
      m = next.max;
    } else if (kLong && static_cast<const T*>(g) != x) {
      own = LongRowOwnMaxPass(x, g, n, chunk, chunks);
      m = static_cast<T>(own.max);
      own_sums = ZeroShiftFits(m);
    } else if constexpr (kLong) {
      m = LongRowMax(x, n, chunk, chunks);
    } else {
      m = RowMax(x, n);
    }
    if (m == -std::numeric_limits<T>::infinity()) {
      special(r);  // fully masked, or a NaN that the max did not see: the driver reads the row
      return;
    }
    if (!(m <= std::numeric_limits<T>::max())) {  // +inf or NaN
      a.row_loss[r] = kNaN;
      FillRow(g, n, kNaN);
      return;
    }
    row.open = true;
    row.m = m;
    row.zt = x[t];  // read before the gradient (possibly the logits themselves) is written
    if (!kPlain && a.smoothing > 0) row.gap = GapSum(x, a.weight, n, m);
    // Prefetched: a row at least two ahead (the next one's max is read during this row's
    // pass, so it must already be on its way: a prefetch of the next row itself left those
    // loads waiting on memory, 40% of the time on [4096, 1000]), and the gradient row as far
    // ahead, for write.
    internal::Lookahead<T> ahead;
    if (r + 1 < a.rows) {
      const std::size_t far = std::min(prefetch_rows, a.rows - 1 - r);
      ahead.read = x + static_cast<std::ptrdiff_t>(far) * a.logits_stride;
      ahead.write = g != nullptr ? g + static_cast<std::ptrdiff_t>(far) * a.grad_stride : nullptr;
    }
    const bool fuse = r + 1 < a.rows && a.target[r + 1] != a.ignore_index;
    next.x = x + a.logits_stride;
    have_max = fuse;
    row.zero_shift = ZeroShiftFits(m);
    // (exp(z_c) with shift 0 summed whole, then split only where it matters: SplitSums.)
    if (own_sums) {  // (the next row takes its own max the same way)
      have_max = false;
      row.zero_shift = true;
      row.sum = own.sum + own.sum_lo;
      row.max_count = 0;
      return;
    }
    internal::NextMax<T>* next_max = fuse ? &next : nullptr;
    internal::ExpSum es;
    if constexpr (kLong) {
      es = row.zero_shift ? LongRowExpPass<true>(x, g, n, m, chunk, next_max, chunks)
                          : LongRowExpPass<false>(x, g, n, m, chunk, next_max, chunks);
    } else {
      es = row.zero_shift ? ExpPass<true>(d, x, g, n, m, ahead, next_max)
                          : ExpPass<false>(d, x, g, n, m, ahead, next_max);
    }
    row.sum = es.sum + es.sum_lo;
    row.max_count = es.max_count;
  };
  // Rows go in groups, their exponential passes before their second passes, so that the
  // out-of-order core overlaps a row's serial chain (the sum's reduction, 1/S, then the scale
  // pass waiting on it) with the next rows' exponentials, as softmax's WholeRows does. A group
  // holds up to 8 rows and 16 KiB of each of x and g, which then stay in L1 between the passes.
  // Measured on 1 / 2 threads, ns/element (medians of 9 runs): [32768, 128] 0.339 / - one row at
  // a time, 0.254 / 0.146 in pairs, 0.250 / 0.130 in groups of 8; [4096, 1000] 0.198 / 0.108 in
  // pairs and groups of 4, 0.212 / 0.114 in groups of 8 (32 KiB).
  constexpr std::size_t kGroup = 8;
  const std::size_t group = std::max<std::size_t>(1, std::min(kGroup, 16384 / (n * sizeof(T))));
  SummedRow<T> summed[kGroup];
  for (std::size_t r0 = 0; r0 < a.rows; r0 += group) {
    const std::size_t rows = std::min(group, a.rows - r0);
    for (std::size_t i = 0; i < rows; ++i) sum_row(r0 + i, summed[i]);
    for (std::size_t i = 0; i < rows; ++i) {
      if (summed[i].open) {
        FinishClassRow<kLong, kPlain>(a, r0 + i, summed[i], pending, chunk, chunks);
      }
    }
  }
  FinishLogs(pending);
}

template <typename T>
void ClassRowsKernel(const internal::ClassRows<T>& a,
                     internal::FunctionRef<void(std::size_t)> special, internal::ChunkLoop chunks) {
  // Rows without weights or smoothing (kPlain) in instances of their own: the options'
  // arithmetic folded away ([32768, 128], medians of 9: 0.265 / 0.141 -> 0.261 / 0.134 ns/element
  // at 1 / 2 threads).
  const bool plain = a.weight == nullptr && a.smoothing == 0;
  if (a.classes > internal::LossChunkLength<T>(a.classes)) {
    return plain ? ClassRowsOf<true, true>(a, special, chunks)
                 : ClassRowsOf<true, false>(a, special, chunks);
  }
  plain ? ClassRowsOf<false, true>(a, special, chunks)
        : ClassRowsOf<false, false>(a, special, chunks);
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_LOSSES_CLASS_ROWS_INL_H_
