// Whole rows in one kernel call: the path of every contiguous row that fits in one chunk (rows of
// [4096, 1000], [32768, 128], ...). Rows are taken in groups whose passes run back to back, so
// the out-of-order core overlaps one row's serial chain (max -> exp -> sum -> 1/sum -> scale)
// with the next row's; the driver does no work per row.
#if defined(SMX_SOFTMAX_ROWS_KERNEL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_SOFTMAX_ROWS_KERNEL_INL_H_
#undef SMX_SOFTMAX_ROWS_KERNEL_INL_H_
#else
#define SMX_SOFTMAX_ROWS_KERNEL_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "softmax/kernels.h"
#include "softmax/row_kernels-inl.h"
#include "softmax/row_math.h"
#include "softmax/wide_log-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {

// What a log op's output pass needs per row of a group, from the rows' split sums.
template <typename T, std::size_t kGroup>
struct GroupLogs {
  static_assert(kGroup <= 32, "scalar_rows holds a bit per row");
  using W = internal::Wide<T>;
  // Per row: the sum as the kernel returned it (relative to the shift, non-max terms only when
  // split) and its count of max entries; filled by WholeRows.
  W sum[kGroup];
  double count[kGroup];
  // log(sum) relative to the row max, and the non-max terms relative to it.
  W log_sum[kGroup];
  W rest[kGroup];
  // Bit i set: row i takes the scalar path (ties at the max, sums that NeedsPreciseSum, every
  // row of f64 data). Otherwise a_hi + a_lo is the row's constant: logsumexp's result (a_hi),
  // log_softmax's c = m + log_sum at T = 1 (y = x - c), log_sum at T != 1.
  std::uint32_t scalar_rows;
  T a_hi[kGroup], a_lo[kGroup];
};

// f32 data: the whole group's logs at once, in f64 lanes. The kernel summed relative to the shift
// s (0 or the max), so the rest is scaled by exp((s - max)/T) first; then log1p(rest). These and
// the constants of the output pass were a scalar chain per row (a libm log1p call alone cost
// ~20 ns, 0.16 ns per element of a 128-long row; the scalar bookkeeping 4% at K = 128).
template <std::size_t kGroup>
void LogsOfGroup(internal::RowOp op, const float (&max)[kGroup], const float (&shift)[kGroup],
                 std::size_t g, double temperature, bool scaled, std::size_t n,
                 GroupLogs<float, kGroup>& s) {
  const hn::CappedTag<double, kGroup> d;
  const hn::Rebind<float, decltype(d)> df;
  const auto inv_temperature = hn::Set(d, 1 / temperature);  // far below f32's ulp in exp()
  const auto zero = hn::Zero(d), one = hn::Set(d, 1.0);
  const auto tiny = hn::Set(d, internal::kTinyRestPerElement<float> * static_cast<double>(n));
  const auto cancels = hn::Set(d, internal::kCancellingLogSumExp);
  // logsumexp's result and log_softmax's constant at T = 1 add the max.
  const bool add_max = op == internal::RowOp::kLogSumExp || !scaled;
  s.scalar_rows = 0;
  for (std::size_t i = 0; i < g; i += hn::Lanes(d)) {  // kGroup is a multiple of the lanes
    const auto m = hn::PromoteTo(d, hn::LoadU(df, max + i));
    const auto to_max =
        hn::Mul(hn::Sub(hn::PromoteTo(d, hn::LoadU(df, shift + i)), m), inv_temperature);
    const auto count = hn::LoadU(d, s.count + i);
    // An unsplit sum holds one max term: take it out.
    const auto rest = hn::Sub(hn::Mul(hn::LoadU(d, s.sum + i), ExpOfNonPositive(d, to_max)),
                              hn::IfThenElseZero(hn::Eq(count, zero), one));
    const auto log_sum = Log1pOfSum(d, rest);
    hn::StoreU(rest, d, s.rest + i);
    hn::StoreU(log_sum, d, s.log_sum + i);
    const auto c = hn::Add(m, log_sum);
    // NeedsPreciseSum's rows, and ties at the max (log(count) + log1p(rest/count)).
    auto scalar = hn::Or(hn::Lt(rest, tiny), hn::Gt(count, one));
    if (op == internal::RowOp::kLogSumExp) {
      scalar = hn::Or(scalar, hn::Lt(hn::Abs(c), hn::Mul(cancels, hn::Abs(log_sum))));
    }
    const auto a = add_max ? c : log_sum;
    const auto a_hi = hn::DemoteTo(df, a);
    // log_softmax's c_lo is (m - c_hi) + log_sum, not c - c_hi: see RowLogShift.
    const auto a_lo =
        hn::DemoteTo(df, add_max ? hn::Add(hn::Sub(m, hn::PromoteTo(d, a_hi)), log_sum)
                                 : hn::Sub(a, hn::PromoteTo(d, a_hi)));
    hn::StoreU(a_hi, df, s.a_hi + i);
    hn::StoreU(a_lo, df, s.a_lo + i);
    std::uint8_t bits[2] = {};  // a CappedTag<double, 16> vector has at most 16 lanes
    hn::StoreMaskBits(d, scalar, bits);
    s.scalar_rows |= static_cast<std::uint32_t>(bits[0] | bits[1] << 8) << i;
  }
  for (std::size_t i = 0; i < g; ++i) {
    if (s.count[i] > 1) s.log_sum[i] = internal::LogOfSplitSum(s.count[i], s.rest[i]);
  }
}

// f64 data: every row the scalar way, in long double.
template <std::size_t kGroup>
void LogsOfGroup(internal::RowOp, const double (&max)[kGroup], const double (&shift)[kGroup],
                 std::size_t g, double temperature, bool, std::size_t,
                 GroupLogs<double, kGroup>& s) {
  for (std::size_t i = 0; i < g; ++i) {
    const long double to_max = (static_cast<long double>(shift[i]) - max[i]) / temperature;
    s.rest[i] = s.sum[i] * (to_max == 0 ? 1.0L : std::exp(to_max));
    long double count = s.count[i];
    if (count == 0) {  // an unsplit sum: take out one max term
      count = 1;
      s.rest[i] -= 1;
    }
    s.log_sum[i] = internal::LogOfSplitSum(count, s.rest[i]);
  }
  s.scalar_rows = ~std::uint32_t{0};
}

template <typename T>
void WholeRows(internal::RowOp op, const T* x, std::ptrdiff_t x_stride, T* y,
               std::ptrdiff_t y_stride, std::size_t rows, std::size_t n,
               const internal::Temperature<T>& temp, double temperature,
               internal::FunctionRef<void(std::size_t)> special) {
  using W = internal::Wide<T>;
  // Up to 16 rows per group: the per-row log (a vector exp and log1p in f64 per group) cost 0.37
  // -> 0.30 ns/element at K = 128 going from groups of 4 to 16. A group's rows should stay in L2
  // between its passes (x and y: 2 * 32 KiB), so long rows take fewer.
  //
  constexpr std::size_t kGroup = 16;
  constexpr std::size_t kGroupElements = 8192 * sizeof(float) / sizeof(T);  // 32 KiB
  const std::size_t group = std::max<std::size_t>(1, std::min(kGroup, kGroupElements / n));
  const bool softmax = op == internal::RowOp::kSoftmax;
  const bool writes_rows = op != internal::RowOp::kLogSumExp;
  // y is written with ordinary stores into lines prefetched for write ahead. That beat streaming
  // stores even for outputs beyond the caches (1 / 2 threads, ns/element, softmax and log_softmax
  // on [4096, 1000]: 0.291 / 0.140 and 0.316 / 0.174 streamed, 0.273 / 0.120 and 0.307 / 0.133
  // prefetched one group ahead). The distances, ~96 KiB of x and ~64 KiB of y ahead, measured best
  // on [4096, 1000] (1 thread: softmax 0.27 -> 0.225, log_softmax 0.31 -> 0.26) against 1 to 8
  // groups; they made no difference at K = 128 or 8192.
  const std::size_t group_bytes = group * n * sizeof(T);
  const std::size_t read_ahead = ((std::size_t{96} << 10) + group_bytes - 1) / group_bytes;
  const std::size_t write_ahead = ((std::size_t{64} << 10) + group_bytes - 1) / group_bytes;
  // log_softmax rows of 2 KiB or more copy x into y during the exp pass and shift y in place
  // (1 thread, ns/element: [4096, 1000] 0.251 -> 0.239, [2048, 8192] 0.25 -> 0.237); at K = 128 the
  // copy cost more than it saved (0.309 -> 0.333), so short rows read x again.
  const bool copy_x = op == internal::RowOp::kLogSoftmax && n * sizeof(T) >= 2048;
  // The log ops keep the max entries out of the sum (log1p of the rest), which a log_softmax row
  // always needs: its max entry's output is -log1p(rest), however small. logsumexp needs it only
  // where m + log(sum) can be small: with |m + log(sum)| >= 1, guaranteed by m >= 1 or
  // m <= -1 - log n, the unsplit sum's relative error (2u) stays below 2u of the result. That
  // saves two vector operations per exponential (1 thread, ns/element: 32768x128 0.230 -> 0.218,
  // 4096x1000 0.172 -> 0.153).
  const double log_n = std::log(static_cast<double>(n));
  auto split_max = [&](T m) {
    if (softmax) return false;
    if (op == internal::RowOp::kLogSoftmax) return true;
    return !(static_cast<double>(m) >= 1 || static_cast<double>(m) <= -1 - log_n);
  };
  // softmax and logsumexp: a row predicted to take shift 0 (ChooseShift: max/T in [0, 60], as
  // logits usually have) is summed in one pass that also finds its max (OwnMaxExpSum) instead of
  // a max pass and an exp pass. A row whose max turns out otherwise is summed again with its
  // shift, and the next groups take max passes until a row's max is in that range again. The one
  // pass does not split the max entries out of the sum, so logsumexp also needs m >= 1
  // (split_max). Not log_softmax, whose split sums need the max first: one pass keeping each lane's
  // top entry out of the sum (a compare and two selects per vector) measured 7% slower at
  // K = 128, and one unsplit pass, summed again where log(sum) < 1, 25% slower on normal data of
  // standard deviation 3, where many rows have a dominant entry. In place, softmax's one pass
  // would write exponentials over x before knowing the shift, so those rows take the max pass.
  auto one_pass_holds = [&](T m) {
    return internal::ChooseShift(m, temperature).zero &&
           !(op == internal::RowOp::kLogSumExp && split_max(m));
  };
  const bool one_pass_op = op == internal::RowOp::kLogSumExp ||
                           (softmax && static_cast<const void*>(x) != static_cast<const void*>(y));
  bool one_pass = one_pass_op;
  for (std::size_t r0 = 0; r0 < rows; r0 += group) {
    const std::size_t g = rows - r0 < group ? rows - r0 : group;
    T max[kGroup], shift[kGroup];
    bool finite[kGroup];
    internal::ExpSum sums[kGroup];
    // Prefetches the same row of a group further on (see the distances above).
    auto lookahead = [&](std::size_t i) {
      internal::Lookahead<T> ahead;
      if (const std::size_t next = r0 + i + read_ahead * group; next < rows) {
        ahead.read = x + next * x_stride;
      }
      if (const std::size_t next = r0 + i + write_ahead * group; next < rows && writes_rows) {
        ahead.write = y + next * y_stride;
      }
      return ahead;
    };
    auto exp_out = [&](std::size_t i) {
      return softmax || copy_x ? y + (r0 + i) * y_stride : nullptr;
    };
    // Row i's sums from its max.
    auto sum_row = [&](std::size_t i) {
      finite[i] = std::isfinite(max[i]);
      if (!finite[i]) {
        special(r0 + i);
        max[i] = shift[i] = 0;  // defined values for the group's vector log (results unused)
        sums[i] = internal::ExpSum{};
        return;
      }
      const internal::Shift<T> row_shift = internal::ChooseShift(max[i], temperature);
      shift[i] = row_shift.value;
      sums[i] = RowExpSum(x + (r0 + i) * x_stride, exp_out(i), n, max[i], row_shift.value, temp,
                          row_shift.zero, split_max(max[i]), lookahead(i));
    };
    if (one_pass) {
      for (std::size_t i = 0; i < g; ++i) {
        sums[i] = OwnMaxExpSum(x + (r0 + i) * x_stride, exp_out(i), n, temp, lookahead(i));
        max[i] = static_cast<T>(sums[i].max);
        if (one_pass_holds(max[i])) {
          finite[i] = true;
          shift[i] = 0;
        } else {
          one_pass = false;
          sum_row(i);
        }
      }
    } else {
      for (std::size_t i = 0; i < g; ++i) max[i] = RowMax(x + (r0 + i) * x_stride, n);
      for (std::size_t i = 0; i < g; ++i) sum_row(i);
      one_pass = one_pass_op && one_pass_holds(max[g - 1]);
    }
    // The sums are moved into the group's arrays only now: storing each as its call returned
    // waited for that row's reduction and held up retirement (log_softmax, 32768x128, 1 thread:
    // 5% slower).
    GroupLogs<T, kGroup> logs;  // not zeroed as a whole: a rep stos per group cost 2% at K = 128
    if (!softmax) {
      for (std::size_t i = 0; i < kGroup; ++i) {  // the vector log reads whole vectors, past g
        const bool row = i < g;
        logs.sum[i] = row ? static_cast<W>(sums[i].sum) + static_cast<W>(sums[i].sum_lo) : 0;
        logs.count[i] = row ? sums[i].max_count : 0;
        if (!row) max[i] = shift[i] = 0;
      }
      LogsOfGroup(op, max, shift, g, temperature, temp.scaled, n, logs);
    }
    for (std::size_t i = 0; i < g; ++i) {
      if (!finite[i]) continue;
      T* row_y = y + (r0 + i) * y_stride;
      if (softmax) {
        const W sum = static_cast<W>(sums[i].sum) + static_cast<W>(sums[i].sum_lo);
        RowScale(row_y, row_y, n, static_cast<T>(1 / sum));
        continue;
      }
      const T* row_x = copy_x ? row_y : x + (r0 + i) * x_stride;
      if (!(logs.scalar_rows >> i & 1)) {
        if (op == internal::RowOp::kLogSumExp) {
          *row_y = logs.a_hi[i];
        } else if (temp.scaled) {
          ScaledLogShift(row_x, row_y, n, max[i], temp, logs.a_hi[i], logs.a_lo[i]);
        } else {
          ShiftRow(row_x, row_y, n, logs.a_hi[i], logs.a_lo[i]);
        }
        continue;
      }
      W log_sum = logs.log_sum[i];
      if (internal::NeedsPreciseSum<T>(op, static_cast<W>(max[i]), log_sum, logs.rest[i], n)) {
        const T* row = x + (r0 + i) * x_stride;
        log_sum = internal::LogSumOfRow(op, max[i], static_cast<W>(temperature), W(0), W(0), n,
                                        [row](std::size_t j) { return static_cast<W>(row[j]); });
      }
      if (op == internal::RowOp::kLogSumExp) {
        *row_y = static_cast<T>(static_cast<W>(max[i]) + log_sum);
      } else {
        T log_hi, log_lo;
        internal::SplitWide(log_sum, log_hi, log_lo);
        RowLogShift(row_x, row_y, n, max[i], temp, log_hi, log_lo);
      }
    }
  }
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_ROWS_KERNEL_INL_H_
