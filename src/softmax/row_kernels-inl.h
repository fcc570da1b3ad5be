// Row kernels of the softmax family on contiguous arrays, compiled once per SIMD target.
//
// XNNPACK's decomposition: a row max; exp(x - max) stored and summed; a scale. log_softmax and
// logsumexp reuse the first two and add the log-space shift. Vector accumulators are reduced
// once per call, never inside the loop. The last partial vector is staged through a small buffer
// (padded with -inf, whose exponential is 0) so that no kernel reads or writes past the caller's
// array.
#if defined(SMX_SOFTMAX_ROW_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_SOFTMAX_ROW_KERNELS_INL_H_
#undef SMX_SOFTMAX_ROW_KERNELS_INL_H_
#else
#define SMX_SOFTMAX_ROW_KERNELS_INL_H_
#endif

#include <algorithm>
#include <cstring>
#include <limits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "softmax/exp-inl.h"
#include "softmax/kernels.h"
#include "softmax/row_math.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Into L2, not L1: a chunk ahead is 64 KiB, more than L1 holds beside the chunk being worked on.
// Measured on [512, 32000] f32 (memory-resident): softmax 0.31 -> 0.26 ns/element, logsumexp
// 0.24 -> 0.16, where an L1 prefetch (hwy::Prefetch) had changed nothing. A prefetch never faults,
// so addresses past the caller's array are harmless.
HWY_INLINE void PrefetchToL2(const void* p) { __builtin_prefetch(p, /*rw=*/0, /*locality=*/2); }
HWY_INLINE void PrefetchToL2ForWrite(const void* p) {
  __builtin_prefetch(p, /*rw=*/1, /*locality=*/2);
}

// The per-row kernels are inlined into WholeRows' loops (and exist out of line for the driver's
// table): at K = 128 their calls cost ~4% (32768x128, 1 thread: softmax 0.225 -> 0.214,
// log_softmax 0.274 -> 0.268 ns/element).
template <typename T>
HWY_INLINE T RowMax(const T* HWY_RESTRICT x, std::size_t n) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  if (n < N) {
    T m = x[0];
    for (std::size_t i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
  }
  auto m0 = hn::LoadU(d, x), m1 = m0, m2 = m0, m3 = m0;
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    m0 = hn::Max(m0, hn::LoadU(d, x + i));
    m1 = hn::Max(m1, hn::LoadU(d, x + i + N));
    m2 = hn::Max(m2, hn::LoadU(d, x + i + 2 * N));
    m3 = hn::Max(m3, hn::LoadU(d, x + i + 3 * N));
  }
  for (; i + N <= n; i += N) m0 = hn::Max(m0, hn::LoadU(d, x + i));
  // The overlapping last vector re-reads a few elements, which a max does not mind.
  if (i < n) m1 = hn::Max(m1, hn::LoadU(d, x + n - N));
  m0 = hn::Max(hn::Max(m0, m1), hn::Max(m2, m3));
  return hn::GetLane(hn::MaxOfLanes(d, m0));
}

// Sums of exponentials, kept per lane (the column kernel reads each lane's own sum; the row kernels
// reduce them): f32 lanes are widened and summed in f64 (K = 4097 in f32 costs 23 ULP otherwise);
// f64 lanes keep a TwoSum error term.
template <class D>
class LaneSums {
  using T = hn::TFromD<D>;
  using V = hn::Vec<D>;
#if HWY_TARGET == HWY_SCALAR
  using WideD = hn::Rebind<double, D>;
#else
  using WideD = hn::Repartition<double, D>;
#endif

 public:
  // Explicit so that it is compiled for the target (an implicit one is not, in GCC 12).
  HWY_INLINE LaneSums() : sum_(hn::Zero(WideD())), err_(hn::Zero(WideD())) {}

  HWY_INLINE void Add(V e) {
    if constexpr (sizeof(T) == 4) {
      // f32: sum_ holds the lower lanes widened, err_ the upper ones (no error term is needed).
#if HWY_TARGET == HWY_SCALAR
      sum_ = hn::Add(sum_, hn::PromoteTo(dw_, e));  // one lane: no halves
#else
      const hn::Half<D> dh;
      sum_ = hn::Add(sum_, hn::PromoteTo(dw_, hn::LowerHalf(dh, e)));
      err_ = hn::Add(err_, hn::PromoteTo(dw_, hn::UpperHalf(dh, e)));
#endif
    } else {
      const V s = hn::Add(sum_, e);
      err_ = hn::Add(err_, TwoSumError(sum_, e, s));
      sum_ = s;
    }
  }

  // Lane i's sum into sums[i] and its error term into errs[i] (0 for f32).
  HWY_INLINE void Store(double* sums, double* errs) const {
    if constexpr (sizeof(T) == 4) {
      hn::StoreU(sum_, dw_, sums);
#if HWY_TARGET != HWY_SCALAR
      hn::StoreU(err_, dw_, sums + hn::Lanes(dw_));
#endif
      for (std::size_t i = 0; i < hn::Lanes(D()); ++i) errs[i] = 0;
    } else {
      hn::StoreU(sum_, dw_, sums);
      hn::StoreU(err_, dw_, errs);
    }
  }

  // The sum over all lanes as sum + sum_lo. f64 lanes are added in lane order with TwoSum, so the
  // result depends on nothing but the data.
  void Reduce(double& sum, double& sum_lo) const {
    if constexpr (sizeof(T) == 4) {
      sum = hn::GetLane(hn::SumOfLanes(dw_, hn::Add(sum_, err_)));
      sum_lo = 0;
    } else {
      double sums[hn::MaxLanes(D())], errs[hn::MaxLanes(D())];
      Store(sums, errs);
      double s = 0, c = 0;
      for (std::size_t i = 0; i < hn::Lanes(D()); ++i) {
        const double t = s + sums[i];
        const double bb = t - s;
        c += (s - (t - bb)) + (sums[i] - bb) + errs[i];
        s = t;
      }
      sum = s + c;
      sum_lo = c - (sum - s);
    }
  }

 private:
  WideD dw_;
  hn::Vec<WideD> sum_;
  hn::Vec<WideD> err_;
};

// Which max an exp-sum pass takes besides its sums:
//  - kGiven: none; the caller passes the max (from a max pass);
//  - kNextChunk: the next chunk's (NextMax), so that it needs no max pass of its own;
//  - kOwn: its own row's, for a row summed with shift 0 before its max is known (OwnMaxExpSum);
//    kOwnChunk the same for a chunk (ChunkOwnMaxExpSum).
enum class MaxTaken { kGiven, kNextChunk, kOwn, kOwnChunk };

// kSplitStoresExp: with kSplit, store the exponentials rather than the input (the fused
// cross-entropy wants both its gradient's e_i and a sum that keeps the max's 1 apart).
template <bool kScaled, bool kZeroShift, bool kStore, bool kSplit, MaxTaken kTaken,
          bool kSplitStoresExp = false, class D>
HWY_INLINE internal::ExpSum ExpSumImpl(D d, const hn::TFromD<D>* HWY_RESTRICT x, hn::TFromD<D>* out,
                                       std::size_t n, hn::TFromD<D> max, hn::TFromD<D> m,
                                       const internal::Temperature<hn::TFromD<D>>& temp,
                                       internal::Lookahead<hn::TFromD<D>> ahead,
                                       internal::NextMax<hn::TFromD<D>>* next_max) {
  using T = hn::TFromD<D>;
  using V = hn::Vec<D>;
  const std::size_t N = hn::Lanes(d);
  const V vm = hn::Set(d, m), vinv = hn::Set(d, temp.inv_t), vt = hn::Set(d, temp.t);
  const V vtlo = hn::Set(d, temp.t_lo), vmax = hn::Set(d, max);
  LaneSums<D> acc0, acc1;
  std::size_t count = 0;
  constexpr bool kFuseMax = kTaken == MaxTaken::kNextChunk;
  constexpr bool kOwnMax = kTaken == MaxTaken::kOwn || kTaken == MaxTaken::kOwnChunk;
  static_assert(!kOwnMax || (kZeroShift && !kSplit), "a row's own max: shift 0, unsplit sums");
  // kFuseMax: next_max->max (see NextMax), whole 4-vector blocks in the loop below. A separate
  // instance: the check and the four accumulators cost the other passes up to 14% at K = 128.
  const std::size_t max_of_blocks = kFuseMax ? next_max->n / (4 * N) : 0;
  const V neg_inf = hn::Set(d, -std::numeric_limits<T>::infinity());
  V next0 = neg_inf, next1 = neg_inf, next2 = neg_inf, next3 = neg_inf;
  // kOwnMax: the largest x so far, per lane of each of a block's four vectors.
  V top[4] = {neg_inf, neg_inf, neg_inf, neg_inf};
  auto exp_of = [&](V v, std::size_t slot) HWY_ATTR {
    V hi, lo;
    ShiftedLogit<kScaled, kZeroShift ? ShiftKind::kZero : ShiftKind::kResidual>(v, vm, vinv, vt,
                                                                                vtlo, hi, lo);
    V ev = ExpOfShifted < kScaled || !kZeroShift > (d, hi, lo);
    if constexpr (kOwnMax) {
      top[slot] = hn::Max(top[slot], v);
      return std::pair<V, V>(ev, ev);
    } else if constexpr (kSplit) {
      // Compared with the max itself, not hi == 0, so that the shift may be 0 here too.
      const auto is_max = hn::Eq(v, vmax);
      // Counted with a population count on the integer ports: the vector pipes are the bound.
      count += hn::CountTrue(d, is_max);
      return std::pair<V, V>(ev, hn::IfThenZeroElse(is_max, ev));
    } else {
      return std::pair<V, V>(ev, ev);
    }
  };
  // What is stored: the exponentials, or (log ops) the input itself.
  auto stored = [](V input, V exp) HWY_ATTR { return kSplit && !kSplitStoresExp ? input : exp; };
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    // One cache line ahead per vector: the next row (or chunk) arrives while this one computes,
    // so its max pass reads from cache instead of waiting on memory.
    for (std::size_t j = 0; j < 4 * N * sizeof(T); j += 64) {
      if (ahead.read != nullptr) PrefetchToL2(reinterpret_cast<const char*>(ahead.read + i) + j);
      if (ahead.write != nullptr) {
        PrefetchToL2ForWrite(reinterpret_cast<const char*>(ahead.write + i) + j);
      }
    }
    if (kFuseMax && i / (4 * N) < max_of_blocks) {
      const T* next = next_max->x + i;
      next0 = hn::Max(next0, hn::LoadU(d, next));
      next1 = hn::Max(next1, hn::LoadU(d, next + N));
      next2 = hn::Max(next2, hn::LoadU(d, next + 2 * N));
      next3 = hn::Max(next3, hn::LoadU(d, next + 3 * N));
    }
    const V x0 = hn::LoadU(d, x + i), x1 = hn::LoadU(d, x + i + N);
    const V x2 = hn::LoadU(d, x + i + 2 * N), x3 = hn::LoadU(d, x + i + 3 * N);
    const auto [e0, s0] = exp_of(x0, 0);
    const auto [e1, s1] = exp_of(x1, 1);
    const auto [e2, s2] = exp_of(x2, 2);
    const auto [e3, s3] = exp_of(x3, 3);
    if constexpr (kStore) {
      hn::StoreU(stored(x0, e0), d, out + i);
      hn::StoreU(stored(x1, e1), d, out + i + N);
      hn::StoreU(stored(x2, e2), d, out + i + 2 * N);
      hn::StoreU(stored(x3, e3), d, out + i + 3 * N);
    }
    if constexpr (sizeof(T) == 4) {
      // Four vectors are added in an f32 tree before widening to f64: every term of the sum then
      // carries a relative error <= 2u (all terms are positive), so the sum's stays <= 2u = one
      // ulp whatever K is, and the widening (extract + 2 converts + 2 adds, 18% of the loop when
      // done per vector) is paid once per four vectors.
      acc0.Add(hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)));
    } else {
      acc0.Add(s0);
      acc1.Add(s1);
      acc0.Add(s2);
      acc1.Add(s3);
    }
  }
  for (; i < n; i += N) {
    V v;
    const std::size_t left = n - i;
    HWY_ALIGN T buf[hn::MaxLanes(D())];
    if (left >= N) {
      v = hn::LoadU(d, x + i);
    } else {
      for (std::size_t j = 0; j < N; ++j) buf[j] = -std::numeric_limits<T>::infinity();
      std::memcpy(buf, x + i, left * sizeof(T));
      v = hn::Load(d, buf);
    }
    const auto [ev, sv] = exp_of(v, 0);
    if constexpr (kStore) {
      if (left >= N) {
        hn::StoreU(stored(v, ev), d, out + i);
      } else {
        hn::Store(stored(v, ev), d, buf);
        std::memcpy(out + i, buf, left * sizeof(T));
      }
    }
    acc0.Add(sv);
  }
  internal::ExpSum result{};
  if constexpr (kOwnMax) {
    const V top_all = hn::Max(hn::Max(top[0], top[1]), hn::Max(top[2], top[3]));
    result.max = hn::GetLane(hn::MaxOfLanes(d, top_all));
  }
  double s0, l0, s1, l1;
  acc0.Reduce(s0, l0);
  if constexpr (sizeof(T) == 4) {
    result.sum = s0;  // f32 uses one (widened) accumulator
  } else {
    acc1.Reduce(s1, l1);
    result.sum = s0 + s1;
    const double bb = result.sum - s0;
    result.sum_lo = (s0 - (result.sum - bb)) + (s1 - bb) + l0 + l1;
  }
  if constexpr (kSplit) result.max_count = static_cast<double>(count);
  if constexpr (kFuseMax) {
    // The blocks the loop did not reach (the next chunk may be longer), then the partial block.
    const T* next = next_max->x;
    std::size_t done = std::min(max_of_blocks, n / (4 * N)) * 4 * N;
    for (; done + N <= next_max->n; done += N) next0 = hn::Max(next0, hn::LoadU(d, next + done));
    T value = hn::GetLane(hn::MaxOfLanes(d, hn::Max(hn::Max(next0, next1), hn::Max(next2, next3))));
    for (; done < next_max->n; ++done) value = next[done] > value ? next[done] : value;
    next_max->max = value;
  }
  return result;
}

// The instance for the flags (and `out`), through a template per flag: each loop is branch-free.
// kNextChunk: next != nullptr, which RowExpSumNextMax passes (a separate chain: one shared with
// RowExpSum cost the whole-rows path 8% at K = 128, its calls taking arguments on the stack).
template <bool kScaled, bool kZeroShift, bool kSplit, MaxTaken kTaken, typename T>
internal::ExpSum ExpSumFor(const T* x, T* out, std::size_t n, T max, T m,
                           const internal::Temperature<T>& temp, internal::Lookahead<T> ahead,
                           internal::NextMax<T>* next) {
  const hn::ScalableTag<T> d;
  return out ? ExpSumImpl<kScaled, kZeroShift, true, kSplit, kTaken>(d, x, out, n, max, m, temp,
                                                                     ahead, next)
             : ExpSumImpl<kScaled, kZeroShift, false, kSplit, kTaken>(d, x, out, n, max, m, temp,
                                                                      ahead, next);
}

template <bool kScaled, bool kZeroShift, MaxTaken kTaken, typename T>
internal::ExpSum ExpSumFor(const T* x, T* out, std::size_t n, T max, T m,
                           const internal::Temperature<T>& temp, bool split_max,
                           internal::Lookahead<T> ahead, internal::NextMax<T>* next) {
  return split_max
             ? ExpSumFor<kScaled, kZeroShift, true, kTaken>(x, out, n, max, m, temp, ahead, next)
             : ExpSumFor<kScaled, kZeroShift, false, kTaken>(x, out, n, max, m, temp, ahead, next);
}

template <MaxTaken kTaken, typename T>
HWY_INLINE internal::ExpSum ExpSumOf(const T* x, T* out, std::size_t n, T max, T m,
                                     const internal::Temperature<T>& temp, bool zero_shift,
                                     bool split_max, internal::Lookahead<T> ahead,
                                     internal::NextMax<T>* next) {
  if (temp.scaled) {
    return zero_shift
               ? ExpSumFor<true, true, kTaken>(x, out, n, max, m, temp, split_max, ahead, next)
               : ExpSumFor<true, false, kTaken>(x, out, n, max, m, temp, split_max, ahead, next);
  }
  return zero_shift
             ? ExpSumFor<false, true, kTaken>(x, out, n, max, m, temp, split_max, ahead, next)
             : ExpSumFor<false, false, kTaken>(x, out, n, max, m, temp, split_max, ahead, next);
}

template <typename T>
internal::ExpSum RowExpSum(const T* x, T* out, std::size_t n, T max, T m,
                           const internal::Temperature<T>& temp, bool zero_shift, bool split_max,
                           internal::Lookahead<T> ahead) {
  return ExpSumOf<MaxTaken::kGiven, T>(x, out, n, max, m, temp, zero_shift, split_max, ahead,
                                       nullptr);
}

template <typename T>
internal::ExpSum RowExpSumNextMax(const T* x, T* out, std::size_t n, T max, T m,
                                  const internal::Temperature<T>& temp, bool zero_shift,
                                  bool split_max, internal::Lookahead<T> ahead,
                                  internal::NextMax<T>& next) {
  return ExpSumOf<MaxTaken::kNextChunk, T>(x, out, n, max, m, temp, zero_shift, split_max, ahead,
                                           &next);
}

// The sum of exp(x_i/T) (shift 0, every entry) of a row whose max is not known yet, and that max
// (ExpSum::max): one pass where a max pass and an exp pass were two. `out` (if not null) receives
// the exponentials. Valid as RowExpSum's result (zero_shift, no split_max) where
// ChooseShift(max).zero, which the caller checks afterwards.
template <typename T>
internal::ExpSum OwnMaxExpSum(const T* x, T* out, std::size_t n,
                              const internal::Temperature<T>& temp, internal::Lookahead<T> ahead) {
  constexpr MaxTaken kOwn = MaxTaken::kOwn;
  return temp.scaled
             ? ExpSumFor<true, true, false, kOwn, T>(x, out, n, T(0), T(0), temp, ahead, nullptr)
             : ExpSumFor<false, true, false, kOwn, T>(x, out, n, T(0), T(0), temp, ahead, nullptr);
}

// OwnMaxExpSum for the driver's table (chunks of long rows), through instances of its own
// (MaxTaken::kOwnChunk): sharing whole rows' cost them 10-20% at K = 128 (32768x128 softmax:
// 0.21 -> 0.23-0.25 ns/element), their calls no longer inlined.
template <typename T>
internal::ExpSum ChunkOwnMaxExpSum(const T* x, T* out, std::size_t n,
                                   const internal::Temperature<T>& temp,
                                   internal::Lookahead<T> ahead) {
  constexpr MaxTaken kOwn = MaxTaken::kOwnChunk;
  return temp.scaled
             ? ExpSumFor<true, true, false, kOwn, T>(x, out, n, T(0), T(0), temp, ahead, nullptr)
             : ExpSumFor<false, true, false, kOwn, T>(x, out, n, T(0), T(0), temp, ahead, nullptr);
}

// The elements from dst to its first vector-aligned element (dst aligned to its type: every
// vector boundary is then this many elements mod Lanes(d) from dst).
template <class D>
HWY_INLINE std::size_t ElementsToVectorBoundary(D d, const hn::TFromD<D>* dst) {
  using T = hn::TFromD<D>;
  const std::uintptr_t bytes = hn::Lanes(d) * sizeof(T);
  const std::uintptr_t misalign = reinterpret_cast<std::uintptr_t>(dst) % bytes;
  return misalign == 0 ? 0 : static_cast<std::size_t>((bytes - misalign) / sizeof(T));
}

// Where streaming stores to dst may start: the elements before its first vector-aligned one, or
// n where no whole aligned vector fits in [0, n) or dst is not aligned to its type.
template <class D>
HWY_INLINE std::size_t StreamHead(D d, const hn::TFromD<D>* dst, std::size_t n) {
  using T = hn::TFromD<D>;
  const std::size_t head = ElementsToVectorBoundary(d, dst);
  return reinterpret_cast<std::uintptr_t>(dst) % sizeof(T) == 0 && head + hn::Lanes(d) <= n ? head
                                                                                            : n;
}

// Applies `op` to every vector of src and writes dst; the tail goes through a buffer.
// kStream: non-temporal stores for the vector-aligned middle of dst, for outputs larger than the
// caches, so that writing dst does not first read each of its lines from memory (measured on
// [512, 32000] f32 log_softmax, 2 threads: 0.19 -> 0.155 ns/element). Callers then end with
// hwy::FlushStream().
template <bool kStream = false, class D, class Op>
HWY_INLINE void TransformRow(D d, const hn::TFromD<D>* src, hn::TFromD<D>* dst, std::size_t n,
                             Op op) {
  using T = hn::TFromD<D>;
  const std::size_t N = hn::Lanes(d);
  std::size_t i = 0;
  if constexpr (kStream) {
    const std::size_t head = StreamHead(d, dst, n);
    if (head > 0) TransformRow(d, src, dst, head, op);
    for (i = head; i + N <= n; i += N) hn::Stream(op(hn::LoadU(d, src + i)), d, dst + i);
    if (i < n) TransformRow(d, src + i, dst + i, n - i, op);
    return;
  }
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto a = op(hn::LoadU(d, src + i));
    const auto b = op(hn::LoadU(d, src + i + N));
    hn::StoreU(a, d, dst + i);
    hn::StoreU(b, d, dst + i + N);
  }
  for (; i + N <= n; i += N) hn::StoreU(op(hn::LoadU(d, src + i)), d, dst + i);
  if (i < n) {
    HWY_ALIGN T buf[hn::MaxLanes(D())] = {};
    std::memcpy(buf, src + i, (n - i) * sizeof(T));
    hn::Store(op(hn::Load(d, buf)), d, buf);
    std::memcpy(dst + i, buf, (n - i) * sizeof(T));
  }
}

template <typename T>
HWY_INLINE void RowScale(const T* e, T* y, std::size_t n, T factor) {
  const hn::ScalableTag<T> d;
  const auto f = hn::Set(d, factor);
  TransformRow(d, e, y, n, [f](auto v) HWY_ATTR { return hn::Mul(v, f); });
}

// y = x - c for c = c_hi + c_lo: log_softmax at T = 1. x - c_hi rounds by at most half an ulp of
// y (|y| >= |x - m|), and the max entry of a dominant row gets exactly -log_sum. Two
// subtractions per vector instead of seven (measured 0.128 -> 0.05 ns/element).
template <bool kStream = false, typename T>
HWY_INLINE void ShiftRow(const T* x, T* y, std::size_t n, T c_hi, T c_lo) {
  const hn::ScalableTag<T> d;
  const auto vhi = hn::Set(d, c_hi), vlo = hn::Set(d, c_lo);
  TransformRow<kStream>(d, x, y, n, [&](auto v) HWY_ATTR { return hn::Sub(hn::Sub(v, vhi), vlo); });
}

// T != 1: y = (x - m)/T - log_sum with the division's residual (T = 1 is in RowLogShift).
template <bool kStream = false, typename T>
void ScaledLogShift(const T* x, T* y, std::size_t n, T m, const internal::Temperature<T>& temp,
                    T log_hi, T log_lo) {
  const hn::ScalableTag<T> d;
  const auto vm = hn::Set(d, m), vinv = hn::Set(d, temp.inv_t), vt = hn::Set(d, temp.t);
  const auto vtlo = hn::Set(d, temp.t_lo);
  const auto vlh = hn::Set(d, log_hi), vll = hn::Set(d, log_lo);
  TransformRow<kStream>(d, x, y, n, [&](auto v) HWY_ATTR {
    hn::Vec<decltype(d)> hi, lo;
    ShiftedLogit<true, ShiftKind::kPlain>(v, vm, vinv, vt, vtlo, hi, lo);
    // hi <= 0 <= log: no cancellation; -inf stays -inf (the NaN in lo is dropped with it).
    const auto main = hn::Sub(hi, vlh);
    const auto fine = hn::Sub(lo, vll);
    return hn::IfThenElse(hn::IsFinite(main), hn::Add(main, fine), main);
  });
}

template <bool kStream = false, typename T>
HWY_INLINE void RowLogShift(const T* x, T* y, std::size_t n, T m,
                            const internal::Temperature<T>& temp, T log_hi, T log_lo) {
  if (temp.scaled) {
    ScaledLogShift<kStream>(x, y, n, m, temp, log_hi, log_lo);
    return;
  }
  // T = 1: y = x - c with c = m + log_sum held as c_hi + c_lo (see ShiftRow).
  // c_lo is formed as (m - c_hi) + log_sum, not from a wide m + log_sum: with m = 80 and a
  // dominant entry (log_sum ~ 6e-16), m + log_sum rounds to m even in f64.
  using W = internal::Wide<T>;
  const W log_sum = static_cast<W>(log_hi) + static_cast<W>(log_lo);
  const T c_hi = static_cast<T>(static_cast<W>(m) + log_sum);
  const T c_lo = static_cast<T>((static_cast<W>(m) - static_cast<W>(c_hi)) + log_sum);
  ShiftRow<kStream>(x, y, n, c_hi, c_lo);
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_ROW_KERNELS_INL_H_
