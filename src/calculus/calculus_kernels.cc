// The softmax calculus on Highway vectors, compiled once per SIMD target: the reductions
// (<g, y>, sum g) and the output passes of softmax's and log_softmax's backward.
//
// Everything runs in f64 lanes. f32 data is promoted: a product of two f32 is exact in f64, so
// its sums carry only the f64 additions' rounding, and g - s is formed without rounding s to f32
// (that alone would cost 2^-24 |s|, far more than the result where g_i ~ s). f64 data keeps each
// product's error (an FMA) and each addition's (TwoSum), so that <g, y> is as if computed in
// twice the precision.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "calculus/calculus_kernels.cc"
// clang-format off
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "calculus/kernels.h"
#include "core/widen-inl.h"
#include "softmax/exp-inl.h"
#include "softmax/row_kernels-inl.h"  // RowMax, StreamHead, ElementsToVectorBoundary

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;

// Stores the first n (at most Lanes(DD)) lanes of v to p as T, rounded once.
template <typename T>
HWY_INLINE void StoreNarrow(hn::Vec<DD> v, T* p, std::size_t n) {
  const DD dd;
  const hn::Rebind<T, DD> dt;
  const bool whole = n >= hn::Lanes(dd);
  if constexpr (sizeof(T) == 8) {
    if (whole) return hn::StoreU(v, dd, p);
  }
  HWY_ALIGN T buf[hn::MaxLanes(DD())];
  if constexpr (sizeof(T) == 4) {
    const auto out = hn::DemoteTo(dt, v);
    const auto saturated = hn::Eq(hn::Abs(out), hn::Set(dt, hwy::HighestValue<float>()));
    if (whole && hn::AllFalse(dt, saturated)) return hn::StoreU(out, dt, p);
    hn::Store(out, dt, buf);
    // Some targets' demotion saturates at the largest float (HWY_SCALAR's): such lanes, rare,
    // are converted again one by one, so that a result beyond the float range is infinite.
    if (!hn::AllFalse(dt, saturated)) {
      HWY_ALIGN double wide[hn::MaxLanes(DD())];
      hn::Store(v, dd, wide);
      for (std::size_t j = 0; j < hn::Lanes(dd); ++j) buf[j] = static_cast<float>(wide[j]);
    }
  } else {
    hn::Store(v, dd, buf);
  }
  const std::size_t count = n < hn::Lanes(dd) ? n : hn::Lanes(dd);
  for (std::size_t j = 0; j < count; ++j) p[j] = buf[j];
}

// f32 data: the products are exact in f64 and the sum needs no compensation (its rounding is
// far below f32's), so four independent accumulators break the chain of additions that bound
// the loop (4 cycles per vector: 0.5 cycles per element, more than the loads cost). A struct, so
// that the pipelined rows kernel can run one row's dot a step at a time beside another row's
// output pass and still add in this order. With `prefetch` (data beyond the caches) each step
// asks for the lines 4 KiB ahead into L2: the hardware's prefetchers alone left the dot waiting on
// L3 (Emerald Rapids, 1 thread, softmax backward against a memcpy of the same bytes, rotated in
// one process, medians of 9: [512, 32000] 0.94 -> 0.83, [2048, 8192] 1.00 -> 0.85, [32768, 128]
// 1.20 -> 1.06, [16, 128256] 1.22-1.26 -> 1.15-1.18, [1, 16777216] 1.43 -> 1.32; 2 threads
// alike; 2 KiB ahead alike). On data in L2 the prefetches cost ([8, 8192]: 0.19 -> 0.24
// ns/element).
class DotF32Sum {
 public:
  HWY_INLINE explicit DotF32Sum(bool prefetch)
      : s0_(hn::Zero(DD())),
        s1_(hn::Zero(DD())),
        s2_(hn::Zero(DD())),
        s3_(hn::Zero(DD())),
        prefetch_(prefetch) {}
  // The terms [i, i + 4 N) of a and b (b null: of a alone).
  HWY_INLINE void Step(const float* a, const float* b, std::size_t i) {
    for (std::size_t line = 0; prefetch_ && line < 4 * N() * sizeof(float); line += 64) {
      PrefetchToL2(reinterpret_cast<const char*>(a + i) + kAheadBytes + line);
      if (b != nullptr) PrefetchToL2(reinterpret_cast<const char*>(b + i) + kAheadBytes + line);
    }
    s0_ = AddTerm(s0_, a, b, i);
    s1_ = AddTerm(s1_, a, b, i + N());
    s2_ = AddTerm(s2_, a, b, i + 2 * N());
    s3_ = AddTerm(s3_, a, b, i + 3 * N());
  }
  // Adds the terms [i, n), then returns the sum of everything added.
  HWY_INLINE internal::WideSum Finish(const float* a, const float* b, std::size_t i,
                                      std::size_t n) {
    for (; i < n; i += N()) {
      const std::size_t left = n - i;
      const auto va = LoadWide(a + i, left);
      s0_ = hn::Add(s0_, b != nullptr ? hn::Mul(va, LoadWide(b + i, left)) : va);
    }
    const auto sum = hn::Add(hn::Add(s0_, s1_), hn::Add(s2_, s3_));
    return {hn::GetLane(hn::SumOfLanes(DD(), sum)), 0.0};
  }
  static HWY_INLINE std::size_t N() { return hn::Lanes(DD()); }

 private:
  static constexpr std::size_t kAheadBytes = 4096;
  using V = hn::Vec<DD>;
  // s + a b in one FMA: the product is exact in f64, so it rounds as the addition alone did.
  static HWY_INLINE V AddTerm(V s, const float* a, const float* b, std::size_t i) {
    const auto va = LoadWide(a + i, N());
    return b != nullptr ? hn::MulAdd(va, LoadWide(b + i, N()), s) : hn::Add(s, va);
  }
  V s0_, s1_, s2_, s3_;
  bool prefetch_;
};

HWY_INLINE internal::WideSum DotF32(const float* a, const float* b, std::size_t n, bool prefetch) {
  DotF32Sum sum(prefetch);
  std::size_t i = 0;
  for (; i + 4 * DotF32Sum::N() <= n; i += 4 * DotF32Sum::N()) sum.Step(a, b, i);
  return sum.Finish(a, b, i, n);
}

template <typename T>
HWY_INLINE internal::WideSum DotOfChunk(const T* a, const T* b, std::size_t n, bool prefetch) {
  if constexpr (sizeof(T) == 4) return DotF32(a, b, n, prefetch);
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  auto sum = hn::Zero(dd), err = hn::Zero(dd);
  for (std::size_t i = 0; i < n; i += N) {
    const std::size_t left = n - i;
    const auto va = LoadWide(a + i, left);
    auto term = va, term_err = hn::Zero(dd);
    if (b != nullptr) {
      const auto vb = LoadWide(b + i, left);
      term = hn::Mul(va, vb);
      // The product's exact error: an FMA, or Dekker's product on targets without one.
      if constexpr (sizeof(T) == 8) term_err = ProductError(va, vb, term);
    }
    const auto s = hn::Add(sum, term);
    if constexpr (sizeof(T) == 8) {
      err = hn::Add(err, hn::Add(TwoSumError(sum, term, s), term_err));
    }
    sum = s;
  }
  internal::WideSum result;
  SumLanesInOrder(sum, err, result.hi, result.lo);
  return result;
}

// The reduction of a row: its kDotChunk chunks' sums added in order (see kDotChunk); prefetch
// as DotF32Sum's (f32 data).
template <typename T>
HWY_INLINE internal::WideSum Dot(const T* a, const T* b, std::size_t n, bool prefetch) {
  if (n <= internal::kDotChunk) return DotOfChunk(a, b, n, prefetch);
  internal::WideSum sum;
  for (std::size_t i = 0; i < n; i += internal::kDotChunk) {
    const std::size_t count = std::min(internal::kDotChunk, n - i);
    internal::Accumulate(sum, DotOfChunk(a + i, b != nullptr ? b + i : nullptr, count, prefetch));
  }
  return sum;
}

// The table's dot: the driver calls it on chunks of long rows and on staged rows, with the
// prefetch it was measured with.
template <typename T>
internal::WideSum DotOfRow(const T* a, const T* b, std::size_t n) {
  return Dot(a, b, n, /*prefetch=*/true);
}

// Calls f(i) for the whole vectors of a row of n, i = 0, N, ...; returns where the partial
// vector starts (n when there is none). Front to back: the output pass once ran long rows back to
// front, where the dot pass leaves L2 warm, but on [16, 128256] (1 thread, against the copy of
// the same bytes, 4 runs each) that measured 1.52x the copy against 1.40x front to back; the
// other shapes alike.
template <class F>
HWY_INLINE std::size_t ForEachWholeVector(std::size_t n, std::size_t N, const F& f) {
  const std::size_t whole = n / N * N;
  for (std::size_t i = 0; i < whole; i += N) f(i);
  return whole;
}

// f32 data in f32 lanes, with s carried as s_hi + s_lo (two floats): where g_i is near s,
// g_i - s_hi is exact (Sterbenz) and only the last subtraction rounds, so dz keeps the digits
// that s's rounding to f32 would have cost; elsewhere each step rounds once (dz within 3 ulp).
// With DotF32, the whole backward measured 0.39 -> 0.25 ns/element at K = 128 (1 thread), 0.30 ->
// 0.21 on [4096, 1000].
class BackwardF32Output {
 public:
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;

  HWY_INLINE BackwardF32Output(internal::WideSum s, double scale) : scaled_(scale != 1) {
    const double total = s.hi + s.lo;
    const float hi = static_cast<float>(total);
    s_hi_ = hn::Set(D(), hi);
    s_lo_ = hn::Set(D(), static_cast<float>((s.hi - static_cast<double>(hi)) + s.lo));
    scale_ = hn::Set(D(), static_cast<float>(scale));
  }
  static HWY_INLINE std::size_t N() { return hn::Lanes(D()); }

  // The output of a vector whose first `lanes` lanes end one row (a's s) and whose others begin
  // the next (b's s); a and b have the same scale.
  static HWY_INLINE BackwardF32Output Joined(const BackwardF32Output& a, const BackwardF32Output& b,
                                             std::size_t lanes) {
    const auto first = hn::FirstN(D(), lanes);
    BackwardF32Output joined = b;
    joined.s_hi_ = hn::IfThenElse(first, a.s_hi_, b.s_hi_);
    joined.s_lo_ = hn::IfThenElse(first, a.s_lo_, b.s_lo_);
    return joined;
  }

  HWY_INLINE V Of(V vy, V vg) const {
    const V r = hn::Mul(vy, hn::Sub(hn::Sub(vg, s_hi_), s_lo_));
    return scaled_ ? hn::Mul(r, scale_) : r;
  }
  // dz over [i, i + N).
  HWY_INLINE void Vector(const float* y, const float* g, float* dz, std::size_t i) const {
    hn::StoreU(Of(hn::LoadU(D(), y + i), hn::LoadU(D(), g + i)), D(), dz + i);
  }
  HWY_INLINE void StreamVector(const float* y, const float* g, float* dz, std::size_t i) const {
    hn::Stream(Of(hn::LoadU(D(), y + i), hn::LoadU(D(), g + i)), D(), dz + i);
  }
  // dz over [i, i + count), count < N, through a buffer.
  HWY_INLINE void Partial(const float* y, const float* g, float* dz, std::size_t i,
                          std::size_t count) const {
    if (count == 0) return;
    HWY_ALIGN float by[hn::MaxLanes(D())] = {}, bg[hn::MaxLanes(D())] = {};
    std::memcpy(by, y + i, count * sizeof(float));
    std::memcpy(bg, g + i, count * sizeof(float));
    hn::Store(Of(hn::Load(D(), by), hn::Load(D(), bg)), D(), by);
    std::memcpy(dz + i, by, count * sizeof(float));
  }

 private:
  V s_hi_, s_lo_, scale_;
  bool scaled_;
};

// stream: dz written with streaming stores where it is vector-aligned, so that its lines are not
// first read from memory (BackwardRows::stream).
HWY_INLINE void SoftmaxBackwardF32(const float* y, const float* g, float* dz, std::size_t n,
                                   internal::WideSum s, double scale, bool stream = false) {
  const BackwardF32Output out(s, scale);
  const std::size_t N = BackwardF32Output::N();
  std::size_t i = 0;
  if (stream) {
    const std::size_t head = StreamHead(BackwardF32Output::D(), dz, n);
    if (head < n) {
      out.Partial(y, g, dz, 0, head);
      for (i = head; i + N <= n; i += N) out.StreamVector(y, g, dz, i);
      return out.Partial(y, g, dz, i, n - i);
    }
  }
  i = ForEachWholeVector(n, N, [&](std::size_t j) HWY_ATTR { out.Vector(y, g, dz, j); });
  out.Partial(y, g, dz, i, n - i);
}

// One row's output pass (y, g, dz, s as SoftmaxBackwardF32), from about element fused_from on
// (the vector there) run in the same loop as the next row's dot (Dot(g_next, y_next, n_next), the
// same bits): the dot reads its rows from farther caches while the output pass reads what the
// previous dot left in L1 or L2, and in one loop the two overlap. Returns the next row's dot.
HWY_INLINE internal::WideSum SoftmaxBackwardF32ThenDot(const float* y, const float* g, float* dz,
                                                       std::size_t n, internal::WideSum s,
                                                       double scale, bool stream,
                                                       const float* y_next, const float* g_next,
                                                       std::size_t n_next, std::size_t fused_from,
                                                       bool prefetch) {
  const BackwardF32Output out(s, scale);
  const std::size_t N = BackwardF32Output::N();
  const std::size_t step = 4 * DotF32Sum::N();  // the dot's step, a whole number of N
  std::size_t at = stream ? StreamHead(BackwardF32Output::D(), dz, n) : 0;  // the output's position
  stream = stream && at < n;
  if (!stream) at = 0;
  out.Partial(y, g, dz, 0, at);
  if (fused_from > at) {  // the output pass alone up to a vector boundary
    const std::size_t end = at + (std::min(fused_from, n) - at) / N * N;
    SoftmaxBackwardF32(y + at, g + at, dz + at, end - at, s, scale, stream);
    at = end;
  }
  internal::WideSum next;
  for (std::size_t chunk = 0; chunk < n_next; chunk += internal::kDotChunk) {
    const std::size_t count = std::min(internal::kDotChunk, n_next - chunk);
    const float* a = g_next + chunk;
    const float* b = y_next + chunk;
    DotF32Sum sum(prefetch);
    std::size_t i = 0;
    // The fused loop, with the store chosen at compile time.
    auto fused = [&](auto streamed) HWY_ATTR {
      for (; i + step <= count && at + step <= n; i += step, at += step) {
        sum.Step(a, b, i);
        for (std::size_t j = 0; j < step; j += N) {
          if constexpr (decltype(streamed)::value) {
            out.StreamVector(y, g, dz, at + j);
          } else {
            out.Vector(y, g, dz, at + j);
          }
        }
      }
    };
    if (stream) {
      fused(std::true_type());
    } else {
      fused(std::false_type());
    }
    for (; i + step <= count; i += step) sum.Step(a, b, i);
    internal::Accumulate(next, sum.Finish(a, b, i, count));
  }
  SoftmaxBackwardF32(y + at, g + at, dz + at, n - at, s, scale, stream);
  return next;
}

// stream: f32 dz written with streaming stores (f64 data ignores it).
template <typename T>
HWY_INLINE void SoftmaxBackward(const T* y, const T* g, T* dz, std::size_t n, internal::WideSum s,
                                double scale, bool stream = false) {
  if constexpr (sizeof(T) == 4) return SoftmaxBackwardF32(y, g, dz, n, s, scale, stream);
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  const auto s_hi = hn::Set(dd, s.hi), s_lo = hn::Set(dd, s.lo), vscale = hn::Set(dd, scale);
  auto output = [&](std::size_t i) HWY_ATTR {
    const std::size_t left = n - i;
    const auto vy = LoadWide(y + i, left), vg = LoadWide(g + i, left);
    const auto diff = hn::Sub(hn::Sub(vg, s_hi), s_lo);
    StoreNarrow(hn::Mul(hn::Mul(vy, diff), vscale), dz + i, left);
  };
  const std::size_t i = ForEachWholeVector(n, N, output);
  if (i < n) output(i);
}

// One row, for the kernel table (rows that are not evenly spaced, chunks of long rows).
template <typename T>
void SoftmaxBackwardRow(const T* y, const T* g, T* dz, std::size_t n, internal::WideSum s,
                        double scale, bool stream) {
  SoftmaxBackward(y, g, dz, n, s, scale, stream);
}

// log_softmax's backward in f64 lanes (any data; the f32 path's fallback).
template <typename T>
HWY_INLINE void LogSoftmaxBackwardWide(const T* out, const T* g, T* dz, std::size_t n,
                                       internal::WideSum sum_g, double scale) {
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  const auto s_hi = hn::Set(dd, sum_g.hi), s_lo = hn::Set(dd, sum_g.lo);
  const auto vscale = hn::Set(dd, scale);
  auto output = [&](std::size_t i) HWY_ATTR {
    const std::size_t left = n - i;
    const auto vout = LoadWide(out + i, left), vg = LoadWide(g + i, left);
    // exp(out) <= 1 for a log_softmax output; the f64 kernel exponential is within 1 ulp and
    // gives 0 for -inf. The products with S round once each (FMA).
    const auto y = ExpOfShifted</*kHasLo=*/false>(dd, vout, vout);
    const auto r = hn::NegMulAdd(y, s_lo, hn::NegMulAdd(y, s_hi, vg));
    StoreNarrow(hn::Mul(r, vscale), dz + i, left);
  };
  const std::size_t i = ForEachWholeVector(n, N, output);
  if (i < n) output(i);
}

// f32 data at T = 1 in f32 lanes: e = exp(out) by the kernel exponential (within 1 ulp for out
// in [-87, 0]) and dz = (g - e S_hi) - e S_lo, both by FMA, with S = sum(g) carried as two floats.
// The exponential's ulp then moves dz by at most |e S| 2^-23, under 2 ulp of dz where
// |e S| <= |dz|; a vector with any lane outside that (cancellation, out outside [-87, 0], NaN)
// is done again in f64 lanes (LogSoftmaxBackwardWide), so dz stays within 3 ulp everywhere.
// Out of place, those vectors (1 in 7 on normal g at K = 1000) are marked in a block's bit mask
// and redone after it, from the inputs still in L1: redone as they came, the unpredictable branch
// and the call cost more than the f32 lanes saved (0.65 against 0.75 ns/element). In place (dz is
// g or out) each is redone before its inputs are overwritten. [4096, 1000], ns/element: 0.75 ->
// 0.43-0.46 at 1 thread, 0.39 -> 0.23 at 2 (the f32 lanes alone, every vector: 0.25 at 1).
template <bool kInPlace>
HWY_INLINE void LogSoftmaxBackwardF32(const float* out, const float* g, float* dz, std::size_t n,
                                      internal::WideSum sum_g) {
  const hn::ScalableTag<float> d;
  const std::size_t N = hn::Lanes(d);
  const double total = sum_g.hi + sum_g.lo;
  const float hi = static_cast<float>(total);
  const float lo = static_cast<float>((sum_g.hi - static_cast<double>(hi)) + sum_g.lo);
  const auto s_hi = hn::Set(d, hi), s_lo = hn::Set(d, lo);
  // 1 - 2^-20: r and e S_hi differ by e S_lo (~2^-24 of them) where g = 0, as NLL's g is.
  const auto slack = hn::Set(d, 1.0f - 0x1p-20f);
  const auto lowest = hn::Set(d, -87.0f), zero = hn::Zero(d);
  // dz of the vector at i, and whether it holds to 3 ulp.
  auto fast = [&](std::size_t i, hn::Vec<decltype(d)>& r) HWY_ATTR {
    const auto vo = hn::LoadU(d, out + i), vg = hn::LoadU(d, g + i);
    const auto e = ExpOfShifted</*kHasLo=*/false>(d, vo, vo);
    r = hn::NegMulAdd(e, s_lo, hn::NegMulAdd(e, s_hi, vg));
    const auto in_range = hn::And(hn::Ge(vo, lowest), hn::Le(vo, zero));
    const auto no_cancel = hn::Ge(hn::Abs(r), hn::Mul(hn::Abs(hn::Mul(e, s_hi)), slack));
    return hn::AllTrue(d, hn::And(in_range, no_cancel));
  };
  auto wide = [&](std::size_t i, std::size_t count)
                  HWY_ATTR { LogSoftmaxBackwardWide(out + i, g + i, dz + i, count, sum_g, 1.0); };
  std::size_t i = 0;
  if constexpr (kInPlace) {
    for (; i + N <= n; i += N) {
      hn::Vec<decltype(d)> r;
      if (fast(i, r)) {
        hn::StoreU(r, d, dz + i);
      } else {
        wide(i, N);
      }
    }
  } else {
    constexpr std::size_t kBlock = 64;  // vectors
    while (i + N <= n) {
      const std::size_t start = i;
      std::uint64_t redo = 0;
      for (std::size_t j = 0; j < kBlock && i + N <= n; ++j, i += N) {
        hn::Vec<decltype(d)> r;
        redo |= static_cast<std::uint64_t>(!fast(i, r)) << j;
        hn::StoreU(r, d, dz + i);
      }
      for (; redo != 0; redo &= redo - 1) {
        wide(start + static_cast<std::size_t>(hwy::Num0BitsBelowLS1Bit_Nonzero64(redo)) * N, N);
      }
    }
  }
  if (i < n) wide(i, n - i);
}

template <typename T>
HWY_INLINE void LogSoftmaxBackward(const T* out, const T* g, T* dz, std::size_t n,
                                   internal::WideSum sum_g, double scale) {
  if constexpr (sizeof(T) == 4) {
    if (scale == 1) {
      const bool in_place = static_cast<const T*>(dz) == g || static_cast<const T*>(dz) == out;
      return in_place ? LogSoftmaxBackwardF32<true>(out, g, dz, n, sum_g)
                      : LogSoftmaxBackwardF32<false>(out, g, dz, n, sum_g);
    }
  }
  LogSoftmaxBackwardWide(out, g, dz, n, sum_g, scale);
}

// Pipelined f32 rows [begin, end) under 2 KiB that follow one another in y, g and dz (all three
// at stride n >= N) with streamed dz off vector boundaries, as NumPy's arrays are (16 bytes past
// a line): each row's partial first and last vectors would be ordinary stores, and each such line
// a read from memory. Here the block's dz is streamed as one array: the vector where one row ends
// and the next begins is computed once, each lane with its own row's s, and only the block's
// first and last partial vectors are ordinary stores. [32768, 128], 1 thread, against a memcpy
// of the same bytes: 1.10-1.13 unstreamed, 1.6 streamed with partial stores at each row's ends,
// 1.0-1.02 joined (0.95 with dz on a line); from NumPy 1.13 -> 0.92. Longer rows lose nothing
// to their ends ([16, 128256] joined: 1.27-1.31, each row's ends apart: 1.21-1.24).
HWY_INLINE void SoftmaxBackwardF32JoinedRows(const internal::BackwardRows<float>& b,
                                             std::size_t begin, std::size_t end, double scale) {
  const std::size_t n = b.n, N = BackwardF32Output::N();
  const auto first_row = static_cast<std::ptrdiff_t>(begin * n);
  const float* y = b.y + first_row;
  const float* g = b.g + first_row;
  float* dz = b.dz + first_row;
  // Not StreamHead: its answer n, where no whole vector fits in a row, does not apply to a block.
  const std::size_t head = ElementsToVectorBoundary(BackwardF32Output::D(), dz);
  internal::WideSum s = Dot(g, y, n, /*prefetch=*/true);  // b.stream: beyond the caches
  BackwardF32Output(s, scale).Partial(y, g, dz, 0, head);
  for (std::size_t row = begin, at = 0; row < end; ++row, at += n) {
    // [whole, whole_end): this row's whole vectors; the part before them ended the last vector.
    const std::size_t whole = at + (head + N - at % N) % N;
    const std::size_t whole_end = whole + (at + n - whole) / N * N;
    const bool last = row + 1 == end;
    internal::WideSum next;
    if (last) {
      SoftmaxBackwardF32(y + whole, g + whole, dz + whole, whole_end - whole, s, scale, true);
    } else {
      const std::size_t fused_from =
          b.pipeline_from > whole - at ? b.pipeline_from - (whole - at) : 0;
      next = SoftmaxBackwardF32ThenDot(y + whole, g + whole, dz + whole, whole_end - whole, s,
                                       scale, true, y + at + n, g + at + n, n, fused_from,
                                       /*prefetch=*/true);
    }
    const std::size_t lanes = at + n - whole_end;  // this row's part of the vector at whole_end
    if (lanes > 0) {
      const BackwardF32Output out(s, scale);
      if (last) {
        out.Partial(y, g, dz, whole_end, lanes);
      } else {
        BackwardF32Output::Joined(out, BackwardF32Output(next, scale), lanes)
            .StreamVector(y, g, dz, whole_end);
      }
    }
    s = next;
  }
  hwy::FlushStream();
}

// The rows kernels: both passes of each row, inlined.
template <typename T>
void SoftmaxBackwardRows(const internal::BackwardRows<T>& b, std::size_t begin, std::size_t end,
                         double scale) {
  // Streamed, a row whose ends are not on 64-byte lines shares its first and last lines with its
  // neighbours, written by ordinary stores: each a read of that line from memory. Those lines
  // are prefetched for write 16 KiB of rows ahead (K = 128, dz 16 bytes past a line, 1 thread:
  // 0.89 -> 0.35 ns/element), and rows under 2 KiB stream only where every row starts on a line
  // (there 0.24-0.30 unstreamed against 0.32-0.35; [4096, 1000] 0.35-0.50 -> 0.23-0.26) or where
  // the rows follow one another (SoftmaxBackwardF32JoinedRows).
  const std::size_t row_bytes = b.n * sizeof(T);
  const bool lines_whole = reinterpret_cast<std::uintptr_t>(b.dz) % 64 == 0 &&
                           (static_cast<std::size_t>(b.dz_stride) * sizeof(T)) % 64 == 0;
  const bool stream = b.stream && (lines_whole || row_bytes >= 2048);
  const std::size_t ahead = std::max<std::size_t>(1, 16384 / row_bytes);
  auto y_of = [&](std::size_t r) { return b.y + static_cast<std::ptrdiff_t>(r) * b.y_stride; };
  auto g_of = [&](std::size_t r) { return b.g + static_cast<std::ptrdiff_t>(r) * b.g_stride; };
  auto dz_of = [&](std::size_t r) { return b.dz + static_cast<std::ptrdiff_t>(r) * b.dz_stride; };
  auto prefetch_edges = [&](std::size_t r) {
    if (stream && !lines_whole && r + ahead < end) {
      PrefetchToL2ForWrite(dz_of(r + ahead));
      PrefetchToL2ForWrite(dz_of(r + ahead) + b.n - 1);
    }
  };
  if constexpr (sizeof(T) == 4) {
    const auto n = static_cast<std::ptrdiff_t>(b.n);
    if (b.pipeline_from < b.n && begin < end && b.stream && !lines_whole && row_bytes < 2048 &&
        b.n >= BackwardF32Output::N() && b.y_stride == n && b.g_stride == n && b.dz_stride == n &&
        reinterpret_cast<std::uintptr_t>(b.dz) % sizeof(float) == 0) {
      return SoftmaxBackwardF32JoinedRows(b, begin, end, scale);
    }
    if (b.pipeline_from < b.n && begin < end) {
      internal::WideSum s = Dot(g_of(begin), y_of(begin), b.n, b.stream);
      for (std::size_t r = begin; r + 1 < end; ++r) {
        prefetch_edges(r);
        s = SoftmaxBackwardF32ThenDot(y_of(r), g_of(r), dz_of(r), b.n, s, scale, stream,
                                      y_of(r + 1), g_of(r + 1), b.n, b.pipeline_from, b.stream);
      }
      SoftmaxBackwardF32(y_of(end - 1), g_of(end - 1), dz_of(end - 1), b.n, s, scale, stream);
      if (stream) hwy::FlushStream();
      return;
    }
  }
  for (std::size_t r = begin; r < end; ++r) {
    prefetch_edges(r);
    SoftmaxBackward(y_of(r), g_of(r), dz_of(r), b.n, Dot(g_of(r), y_of(r), b.n, b.stream), scale,
                    stream);
  }
  if (stream) hwy::FlushStream();
}

template <typename T>
void LogSoftmaxBackwardRows(const internal::BackwardRows<T>& b, std::size_t begin, std::size_t end,
                            double scale) {
  for (std::size_t r = begin; r < end; ++r) {
    const auto ri = static_cast<std::ptrdiff_t>(r);
    const T* g = b.g + ri * b.g_stride;
    LogSoftmaxBackward(b.y + ri * b.y_stride, g, b.dz + ri * b.dz_stride, b.n,
                       Dot<T>(g, nullptr, b.n, b.stream), scale);
  }
}

// d = (zmax - z) / T in f64: zmax - z is exact for f32 data and, where z is within a factor 2 of
// zmax, for f64 (Sterbenz); elsewhere d is large and its rounding scales exp(-d) d, which is tiny.
template <typename T>
internal::EntropySums EntropySumsOf(const T* z, std::size_t n, T zmax, double inv_t) {
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  const auto vmax = hn::Set(dd, static_cast<double>(zmax)), vinv = hn::Set(dd, inv_t);
  const auto zero = hn::Zero(dd), one = hn::Set(dd, 1.0);
  auto count = zero, rest = zero, weighted = zero;
  for (std::size_t i = 0; i < n; i += N) {
    const std::size_t left = n - i;
    auto dv = hn::Mul(hn::Sub(vmax, LoadWide(z + i, left)), vinv);
    if (left < N) {  // lanes past the row: d = inf adds nothing
      HWY_ALIGN double lane[hn::MaxLanes(DD())];
      for (std::size_t j = 0; j < N; ++j) lane[j] = static_cast<double>(j);
      dv = hn::IfThenElse(hn::Lt(hn::Load(dd, lane), hn::Set(dd, static_cast<double>(left))), dv,
                          hn::Set(dd, HUGE_VAL));
    }
    const auto e = ExpOfShifted</*kHasLo=*/false>(dd, hn::Neg(dv), dv);
    const auto at_max = hn::Eq(dv, zero);
    count = hn::Add(count, hn::IfThenElseZero(at_max, one));
    rest = hn::Add(rest, hn::IfThenZeroElse(at_max, e));
    // 0 log 0 = 0: a -inf entry (d = inf, e = 0) adds nothing, not 0 * inf.
    weighted = hn::Add(weighted, hn::IfThenZeroElse(hn::IsInf(dv), hn::Mul(e, dv)));
  }
  return {hn::GetLane(hn::SumOfLanes(dd, count)), hn::GetLane(hn::SumOfLanes(dd, rest)),
          hn::GetLane(hn::SumOfLanes(dd, weighted))};
}

template <typename T>
internal::CalculusKernels<T> MakeKernels() {
  return {&DotOfRow<T>,
          &SoftmaxBackwardRow<T>,
          &LogSoftmaxBackward<T>,
          &SoftmaxBackwardRows<T>,
          &LogSoftmaxBackwardRows<T>,
          &RowMax<T>,
          &EntropySumsOf<T>};
}

const internal::CalculusKernelTable* GetCalculusKernelTable() {
  static const internal::CalculusKernelTable table = {MakeKernels<float>(), MakeKernels<double>()};
  return &table;
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx::internal {

HWY_EXPORT(GetCalculusKernelTable);

const CalculusKernelTable& GetCalculusKernels() {
  return *HWY_DYNAMIC_DISPATCH(GetCalculusKernelTable)();
}

}  // namespace smx::internal
#endif  // HWY_ONCE
