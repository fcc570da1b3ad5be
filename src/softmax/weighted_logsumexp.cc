// Weighted logsumexp with its sign (smx/softmax.h): log|sum_j b_j exp(x_j)| along an axis.
//
// Per row, two Highway passes in f64 lanes (compiled once per SIMD target; f32 data promoted,
// f64 data with the rounding residual of x_j - m carried into the exponential):
//   WeightedScan: m = max{x_j : b_j != 0}, the range and signs of the weights, and whether the row
//                 has a value (NaN, +inf, a non-finite weight) that only the scalar path handles;
//   WeightedSum:  S = sum_j b_j exp(x_j - m), compensated (TwoSum, and each product's exact
//                 error), and sum_j |b_j exp(x_j - m)| for the condition of S.
// A row whose fast result would not be exact enough (see NeedsPreciseRow) or that has special
// values is computed by PreciseRow, scalar in long double. Strided rows and f16/bf16 data are
// staged through stack buffers of the compute type (float or double); nothing is allocated.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "softmax/weighted_logsumexp.cc"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "core/layout.h"
#include "core/parallel.h"
#include "core/storage.h"
#include "core/two_part_sum.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "smx/softmax.h"
#include "core/widen-inl.h"
#include "softmax/exp-inl.h"

// Declarations shared by every target's kernels and the driver: compiled once, although
// foreach_target.h includes this file once per target.
#ifndef SMX_SOFTMAX_WEIGHTED_LOGSUMEXP_SHARED_
#define SMX_SOFTMAX_WEIGHTED_LOGSUMEXP_SHARED_
namespace smx::internal {

// What the scan of a block of (x, b) found, over the entries with b != 0.
struct WeightedScan {
  double max;        // of x (-inf: no entry, or only -inf ones)
  double b_min;      // of b (+inf when none)
  double b_max;      // of b (-inf when none)
  double b_abs_max;  // of |b| over all entries
  bool special;      // NaN in x or b, x = +inf, or b = +-inf: the scalar path decides the row
};

// sum_j b_j exp(x_j - m) as hi + lo, and sum_j |b_j exp(x_j - m)|.
struct WeightedSum {
  double hi;
  double lo;
  double abs;
};

template <typename T>
struct WeightedKernels {
  // Over n >= 0 elements of contiguous x and b.
  WeightedScan (*scan)(const T* x, const T* b, std::size_t n);
  // For the row's m (finite, >= every x_j with b_j != 0; the row has no special values).
  WeightedSum (*sum)(const T* x, const T* b, std::size_t n, double m);
};

struct WeightedKernelTable {
  WeightedKernels<float> f32;
  WeightedKernels<double> f64;
};

}  // namespace smx::internal
#endif  // SMX_SOFTMAX_WEIGHTED_LOGSUMEXP_SHARED_

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace wlse {
namespace hn = hwy::HWY_NAMESPACE;

using DW = hn::ScalableTag<double>;

// Lanes(DW) elements of T at p as f64; when n < Lanes(DW) only the first n, the others 0 (a
// weight of 0 drops the lane from every result).
template <typename T>
HWY_INLINE hn::Vec<DW> LoadAsF64(const T* p, std::size_t n) {
  return LoadWide(p, n);
}

template <typename T>
internal::WeightedScan Scan(const T* x, const T* b, std::size_t n) {
  const DW d;
  const std::size_t N = hn::Lanes(d);
  const auto zero = hn::Zero(d), one = hn::Set(d, 1.0);
  const auto pos_inf = hn::Set(d, HUGE_VAL), neg_inf = hn::Set(d, -HUGE_VAL);
  auto vmax = neg_inf, bmin = pos_inf, bmax = neg_inf, babs = zero, special = zero;
  for (std::size_t i = 0; i < n; i += N) {
    const std::size_t left = n - i;
    const auto vx = LoadAsF64(x + i, left), vb = LoadAsF64(b + i, left);
    const auto live = hn::Ne(vb, zero);
    // A NaN weight fails IsFinite whatever Ne says of it on this target.
    const auto bad = hn::Or(hn::Not(hn::IsFinite(vb)),
                            hn::And(live, hn::Or(hn::IsNaN(vx), hn::Eq(vx, pos_inf))));
    special = hn::Or(special, hn::IfThenElseZero(bad, one));
    vmax = hn::Max(vmax, hn::IfThenElse(live, vx, neg_inf));
    bmin = hn::Min(bmin, hn::IfThenElse(live, vb, pos_inf));
    bmax = hn::Max(bmax, hn::IfThenElse(live, vb, neg_inf));
    babs = hn::Max(babs, hn::Abs(vb));
  }
  return {hn::GetLane(hn::MaxOfLanes(d, vmax)), hn::GetLane(hn::MinOfLanes(d, bmin)),
          hn::GetLane(hn::MaxOfLanes(d, bmax)), hn::GetLane(hn::MaxOfLanes(d, babs)),
          hn::GetLane(hn::MaxOfLanes(d, special)) != 0};
}

template <typename T>
internal::WeightedSum Sum(const T* x, const T* b, std::size_t n, double m) {
  const DW d;
  const std::size_t N = hn::Lanes(d);
  const auto zero = hn::Zero(d), neg_inf = hn::Set(d, -HUGE_VAL);
  const auto neg_m = hn::Set(d, -m);
  auto sum = zero, err = zero, abs = zero;
  for (std::size_t i = 0; i < n; i += N) {
    const std::size_t left = n - i;
    const auto vx = LoadAsF64(x + i, left), vb = LoadAsF64(b + i, left);
    // x - m <= 0 with its exact residual; lanes with b = 0 (x may be anything there) and x = -inf
    // (or x - m below -DBL_MAX) get exp(-inf) = 0 and no residual (the residual of an infinite
    // difference is NaN).
    auto hi = hn::Add(vx, neg_m);
    auto lo = TwoSumError(vx, neg_m, hi);
    const auto live = hn::And(hn::Ne(vb, zero), hn::IsFinite(hi));
    hi = hn::IfThenElse(live, hi, neg_inf);
    lo = hn::IfThenElseZero(live, lo);
    const auto e = ExpOfShifted</*kHasLo=*/true>(d, hi, lo);
    const auto term = hn::Mul(vb, e);
    const auto s = hn::Add(sum, term);
    err = hn::Add(err, hn::Add(TwoSumError(sum, term, s), ProductError(vb, e, term)));
    sum = s;
    abs = hn::Add(abs, hn::Abs(term));
  }
  double total, lo;
  SumLanesInOrder(sum, err, total, lo);
  return {total, lo, hn::GetLane(hn::SumOfLanes(d, abs))};
}

}  // namespace wlse

const internal::WeightedKernelTable* GetWeightedKernelTable() {
  static const internal::WeightedKernelTable table = {{&wlse::Scan<float>, &wlse::Sum<float>},
                                                      {&wlse::Scan<double>, &wlse::Sum<double>}};
  return &table;
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx {
namespace internal {

HWY_EXPORT(GetWeightedKernelTable);

namespace {

using LD = long double;
constexpr LD kInf = std::numeric_limits<LD>::infinity();
constexpr LD kNaN = std::numeric_limits<LD>::quiet_NaN();

// Staging buffers of strided rows and 16-bit data, in compute elements (two on the stack).
constexpr std::int64_t kStage = 1024;

// A row's result: value = log|S| and sign(S) (+1, -1, 0; NaN with a NaN value).
struct RowResult {
  LD value;
  LD sign;
};

// hi + lo: a compensated (TwoSum) sum in long double.
struct CompensatedSum {
  LD hi = 0;
  LD lo = 0;
  void Add(LD v) {
    const LD t = hi + v;
    const LD bb = t - hi;
    lo += (hi - (t - bb)) + (v - bb);
    hi = t;
  }
  LD Value() const { return hi + lo; }
};

// The whole row in long double, from element accessors get(j, x, b): the special values as
// smx/softmax.h states them, then S relative to m. For the log, each term near the max
// (x_j - m >= -1/2) is split as b_j + b_j expm1(x_j - m), the others kept as b_j exp(x_j - m), so
// that |S| - 1 is formed from these parts without cancelling: log|S| = log1p(|S| - 1) keeps its
// digits when a weighted sum lands near 1 (b = {1/2, 1/2}, x = {0, -1e-10}: S = 1 - 5e-11).
template <typename Get>
RowResult PreciseRow(std::int64_t n, Get get) {
  LD m = -kInf;
  bool nan = false, pos_inf = false, neg_inf = false;
  for (std::int64_t j = 0; j < n; ++j) {
    LD x, b;
    get(j, x, b);
    if (b == 0) continue;  // contributes nothing, whatever x is
    if (std::isnan(x) || std::isnan(b)) {
      nan = true;
    } else if (std::isinf(b) || x == kInf) {
      if (x == -kInf) {
        nan = true;  // 0 * inf
      } else {
        (b > 0 ? pos_inf : neg_inf) = true;
      }
    } else {
      m = std::max(m, x);
    }
  }
  if (nan || (pos_inf && neg_inf)) return {kNaN, kNaN};
  if (pos_inf || neg_inf) return {kInf, pos_inf ? LD(1) : LD(-1)};
  if (m == -kInf) return {-kInf, 0};  // no term left: S = 0
  CompensatedSum near_b, rest;        // S = near_b + rest
  for (std::int64_t j = 0; j < n; ++j) {
    LD x, b;
    get(j, x, b);
    if (b == 0 || x == -kInf) continue;
    // x - m with its residual (TwoSum): exp(d + d_lo) = exp(d) (1 + d_lo) to long double.
    const LD d = x - m;
    const LD bb = d - x;
    const LD d_lo = (x - (d - bb)) + (-m - bb);
    if (d >= LD(-0.5)) {
      const LD em1 = std::expm1(d);
      near_b.Add(b);
      rest.Add(b * em1 + b * (1 + em1) * d_lo);
    } else {
      const LD e = std::exp(d);
      rest.Add(b * e + b * e * d_lo);
    }
  }
  CompensatedSum s;
  s.Add(near_b.hi);
  s.Add(near_b.lo);
  s.Add(rest.hi);
  s.Add(rest.lo);
  const LD total = s.Value();
  if (total == 0) return {-kInf, 0};
  const LD sign = total > 0 ? 1 : -1;
  LD log_abs;
  if (std::fabs(total) >= LD(0.5) && std::fabs(total) <= 2) {
    // |S| - 1 = sign (near_b + rest) - 1; sign near_b.hi - 1 is exact when near_b.hi is within a
    // factor 2 of sign (Sterbenz), and otherwise the parts are far from cancelling.
    CompensatedSum minus_one;
    minus_one.Add(sign * near_b.hi - 1);
    minus_one.Add(sign * near_b.lo);
    minus_one.Add(sign * rest.hi);
    minus_one.Add(sign * rest.lo);
    log_abs = std::log1p(minus_one.Value());
  } else {
    log_abs = std::log(std::fabs(total));
  }
  return {m + log_abs, sign};
}

// Whether a fast row (no special values, finite m) must be recomputed by PreciseRow:
//  - the terms cancel: sum |terms| > 2 |S| for f64 data (each exp is within 1 ulp, so S is within
//    2^-52 sum |terms|: at most 2^-51 |S|, 2 ulps of a result >= 1), > 2^20 |S| for f32 data
//    (computed in f64);
//  - |S| is not finite, is below 2^-900 (the terms flush below 2^-1022 relative to the max's) or a
//    weight is so large that a term lost to underflow could matter (max|b| n > 2^900 |S|);
//  - |m + log|S|| < 1 (f64) or 1/4 (f32): the kernel's log|S| carries an absolute error of about
//    2^-52, which a small result cannot absorb.
template <typename C>
bool NeedsPreciseRow(const WeightedScan& scan, const WeightedSum& sum, std::int64_t n, LD& value,
                     LD& sign) {
  const bool f64 = std::is_same_v<C, double>;
  const LD total = static_cast<LD>(sum.hi) + static_cast<LD>(sum.lo);
  const LD abs_total = std::fabs(total);
  if (!std::isfinite(sum.hi) || !(abs_total >= LD(0x1p-900)) ||
      static_cast<LD>(scan.b_abs_max) * static_cast<LD>(n) > LD(0x1p900) * abs_total) {
    return true;
  }
  const bool mixed = scan.b_min < 0 && scan.b_max > 0;
  if (mixed && static_cast<LD>(sum.abs) > (f64 ? LD(2) : LD(0x1p20)) * abs_total) return true;
  // log|hi + lo| = log|hi| + log1p(lo/hi): hi is a double, so log|hi| is exact to long double.
  const LD log_abs = std::log(std::fabs(static_cast<LD>(sum.hi))) +
                     std::log1p(static_cast<LD>(sum.lo) / static_cast<LD>(sum.hi));
  value = static_cast<LD>(scan.max) + log_abs;
  sign = total > 0 ? 1 : -1;
  return !(std::fabs(value) >= (f64 ? LD(1) : LD(0.25)));
}

void Merge(WeightedScan& into, const WeightedScan& s) {
  into.max = std::max(into.max, s.max);
  into.b_min = std::min(into.b_min, s.b_min);
  into.b_max = std::max(into.b_max, s.b_max);
  into.b_abs_max = std::max(into.b_abs_max, s.b_abs_max);
  into.special = into.special || s.special;
}

void Merge(WeightedSum& into, const WeightedSum& s) {
  AddTwoPart(into.hi, into.lo, s.hi, s.lo);
  into.abs += s.abs;
}

template <typename S>
LD ToLD(S v) {
  return static_cast<LD>(ToCompute(v));
}

template <typename S>
S FromLD(LD v) {
  if constexpr (std::is_same_v<S, double>) {
    return static_cast<double>(v);
  } else {
    return FromCompute<S>(static_cast<float>(v));  // f16/bf16: the f32 result rounded once more
  }
}

// The rows of one call, storage type S.
template <typename S>
class WeightedJob {
  using C = ComputeType<S>;
  static constexpr bool kNative = std::is_same_v<S, float> || std::is_same_v<S, double>;

 public:
  WeightedJob(const S* x, const S* b, S* out, S* sign, const RowSet& x_rows, const RowSet& b_rows,
              const RowSet* sign_rows)
      : x_(x),
        b_(b),
        out_(out),
        sign_(sign),
        x_rows_(x_rows),
        b_rows_(b_rows),
        sign_rows_(sign_rows) {}

  void Run() const {
    const WeightedKernelTable& table = *HWY_DYNAMIC_DISPATCH(GetWeightedKernelTable)();
    const WeightedKernels<C>& k = [&]() -> const WeightedKernels<C>& {
      if constexpr (std::is_same_v<C, float>) {
        return table.f32;
      } else {
        return table.f64;
      }
    }();
    const std::int64_t work = 2 * x_rows_.num_rows * std::max<std::int64_t>(x_rows_.length, 1);
    ParallelFor(x_rows_.num_rows, ThreadsFor(work, x_rows_.num_rows),
                [&](std::int64_t begin, std::int64_t end) {
                  for (std::int64_t r = begin; r < end; ++r) Row(k, r);
                });
  }

 private:
  void Row(const WeightedKernels<C>& k, std::int64_t r) const {
    std::int64_t xo = 0, oo = 0, bo = 0, unused = 0;
    x_rows_.Offsets(r, xo, oo);
    b_rows_.Offsets(r, bo, unused);
    const S* x = x_ + xo;
    const S* b = b_ + bo;
    const std::int64_t n = x_rows_.length, xs = x_rows_.x_stride, bs = b_rows_.x_stride;
    auto get = [&](std::int64_t j, LD& xv, LD& bv) {
      xv = ToLD(x[j * xs]);
      bv = ToLD(b[j * bs]);
    };
    RowResult result{-kInf, 0};
    if (n > 0) {
      bool direct = false;
      if constexpr (kNative) direct = xs == 1 && bs == 1;
      C xbuf[kStage], bbuf[kStage];
      // Calls body(x block, b block, count) over the row, as compute values.
      auto each_block = [&](auto body) {
        if constexpr (kNative) {
          if (direct) return body(x, b, static_cast<std::size_t>(n));
        }
        for (std::int64_t start = 0; start < n; start += kStage) {
          const std::int64_t count = std::min(kStage, n - start);
          for (std::int64_t j = 0; j < count; ++j) {
            xbuf[j] = ToCompute(x[(start + j) * xs]);
            bbuf[j] = ToCompute(b[(start + j) * bs]);
          }
          body(static_cast<const C*>(xbuf), static_cast<const C*>(bbuf),
               static_cast<std::size_t>(count));
        }
      };
      WeightedScan scan{-HUGE_VAL, HUGE_VAL, -HUGE_VAL, 0, false};
      each_block(
          [&](const C* xv, const C* bv, std::size_t count) { Merge(scan, k.scan(xv, bv, count)); });
      if (scan.special) {
        result = PreciseRow(n, get);
      } else if (scan.max != -HUGE_VAL) {
        WeightedSum sum{0, 0, 0};
        each_block([&](const C* xv, const C* bv, std::size_t count) {
          Merge(sum, k.sum(xv, bv, count, scan.max));
        });
        if (NeedsPreciseRow<C>(scan, sum, n, result.value, result.sign)) {
          result = PreciseRow(n, get);
        }
      }  // else no term left (all b = 0 or x = -inf): -inf, sign 0
    }
    LD value = result.value;
    if (sign_ == nullptr) {
      if (result.sign < 0) value = kNaN;  // log of a negative sum, as SciPy
    } else {
      std::int64_t so = 0;
      sign_rows_->Offsets(r, unused, so);
      sign_[so] = FromLD<S>(result.sign);
    }
    out_[oo] = FromLD<S>(value);
  }

  const S* x_;
  const S* b_;
  S* out_;
  S* sign_;
  const RowSet& x_rows_;
  const RowSet& b_rows_;
  const RowSet* sign_rows_;
};

bool SameShape(const Layout& a, const Layout& b) {
  if (a.rank != b.rank) return false;
  for (int d = 0; d < a.rank; ++d) {
    if (a.shape[d] != b.shape[d]) return false;
  }
  return true;
}

}  // namespace
}  // namespace internal

Status logsumexp(const ConstTensorRef& x, const ConstTensorRef& b, const TensorRef& out,
                 const TensorRef* sign, const LogSumExpOptions& options) {
  const char* name = "logsumexp";
  internal::RowSet x_rows, b_rows, sign_rows;
  if (Status s = internal::PlanReduction(name, x, out, options.axis, x_rows); !s.ok()) return s;
  if (b.dtype != x.dtype) {
    return Status::InvalidArgument(std::string(name) + ": x is " + dtype_name(x.dtype) +
                                   " but b is " + dtype_name(b.dtype) + "; they must match");
  }
  if (!internal::SameShape(b.layout, x.layout)) {
    return Status::InvalidArgument(std::string(name) + ": b has shape " +
                                   internal::ShapeString(b.layout) + " but x has shape " +
                                   internal::ShapeString(x.layout) +
                                   "; they must match (broadcast b with stride 0 where needed)");
  }
  if (b.data == nullptr && b.layout.num_elements() > 0) {
    return Status::InvalidArgument(std::string(name) + ": b is null but has " +
                                   std::to_string(b.layout.num_elements()) + " elements");
  }
  // b's rows, numbered as x's (one shape): its offsets are what this plan adds.
  if (Status s = internal::PlanReduction(name, b, out, options.axis, b_rows); !s.ok()) return s;
  if (sign != nullptr) {
    if (sign->dtype != out.dtype || !internal::SameShape(sign->layout, out.layout)) {
      return Status::InvalidArgument(
          std::string(name) + ": sign must have out's dtype and shape (" + dtype_name(out.dtype) +
          " " + internal::ShapeString(out.layout) + "), got " + dtype_name(sign->dtype) + " " +
          internal::ShapeString(sign->layout));
    }
    if (sign->data == nullptr && sign->layout.num_elements() > 0) {
      return Status::InvalidArgument(std::string(name) + ": sign is null but has " +
                                     std::to_string(sign->layout.num_elements()) + " elements");
    }
    if (sign->data == out.data && out.layout.num_elements() > 0) {
      return Status::InvalidArgument(std::string(name) +
                                     ": sign and out are the same buffer; they must not overlap");
    }
    if (Status s = internal::PlanReduction(name, x, *sign, options.axis, sign_rows); !s.ok()) {
      return s;
    }
  }
  if (x_rows.num_rows == 0) return Status::Ok();
  const internal::RowSet* sr = sign != nullptr ? &sign_rows : nullptr;
  auto run = [&](auto tag) {
    using S = decltype(tag);
    internal::WeightedJob<S>(
        static_cast<const S*>(x.data), static_cast<const S*>(b.data), static_cast<S*>(out.data),
        sign != nullptr ? static_cast<S*>(sign->data) : nullptr, x_rows, b_rows, sr)
        .Run();
  };
  switch (x.dtype) {
    case DType::kF32: run(float{}); break;
    case DType::kF64: run(double{}); break;
    case DType::kF16: run(float16{}); break;
    case DType::kBF16: run(bfloat16{}); break;
  }
  return Status::Ok();
}

}  // namespace smx
#endif  // HWY_ONCE
