// Weighted logsumexp with its sign (smx/softmax.h), and the derivatives of logsumexp
// (smx/calculus.h), on every SIMD target.
//
// Against a scalar long-double reference written here (terms by IEEE rules, b = 0 dropped, a
// Neumaier sum relative to the max) with its own error bound: random rows of every length
// through the staging block, positive and signed weights, zero weights over NaN and +-inf, sums
// that cancel to exactly 0, negative sums, special values, fully masked and empty rows, one
// element, huge offsets, a weighted sum near 1, every axis, strided and broadcast (stride-0)
// layouts, f16/bf16 and the errors; the gradient and the Hessian against central finite
// differences of logsumexp in long double.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "smx/calculus.h"
#include "smx/runtime.h"
#include "smx/softmax.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

// The reference of one row: value = log|S|, sign(S), and a bound on the absolute error of value.
struct WeightedRef {
  ld value;
  ld sign;
  ld err;
};

WeightedRef ReferenceWeighted(const std::vector<ld>& x, const std::vector<ld>& b) {
  const ld inf = std::numeric_limits<ld>::infinity(), nan = std::numeric_limits<ld>::quiet_NaN();
  bool has_nan = false, pos_inf = false, neg_inf = false;
  ld m = -inf;
  for (std::size_t j = 0; j < x.size(); ++j) {
    if (b[j] == 0) continue;  // SciPy: a zero weight drops the entry, whatever x is
    if (std::isnan(x[j]) || std::isnan(b[j])) {
      has_nan = true;
      continue;
    }
    // The term b exp(x) by IEEE rules.
    const ld e = std::exp(x[j]) /* 0 for -inf, inf for +inf */;
    if (std::isinf(x[j]) || std::isinf(b[j])) {
      const ld term = b[j] * e;  // +-inf, or NaN for inf * 0, or 0
      if (std::isnan(term)) has_nan = true;
      if (term == inf) pos_inf = true;
      if (term == -inf) neg_inf = true;
      continue;
    }
    m = std::max(m, x[j]);
  }
  if (has_nan || (pos_inf && neg_inf)) return {nan, nan, 0};
  if (pos_inf) return {inf, 1, 0};
  if (neg_inf) return {inf, -1, 0};
  if (m == -inf) return {-inf, 0, 0};
  ld sum = 0, comp = 0, abs = 0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    if (b[j] == 0 || std::isinf(x[j])) continue;
    const ld d = x[j] - m;
    const ld t = b[j] * std::exp(d);
    const ld s = sum + t;
    comp += std::fabs(sum) >= std::fabs(t) ? (sum - s) + t : (t - s) + sum;  // Neumaier
    sum = s;
    abs += std::fabs(t) * (2 + std::fabs(d));
  }
  sum += comp;
  if (sum == 0) return {-inf, 0, 0};
  const ld log_abs = std::log(std::fabs(sum));
  const ld value = m + log_abs;
  // x - m, expl, the products and the sum cost a few long-double ulps (2^-64) of each term and
  // |d| of each exponent, relative to |S|; log and the final addition one ulp each. Margin 4.
  const ld err = 4 * 0x1p-64L * (abs / std::fabs(sum) + std::fabs(log_abs) + std::fabs(value));
  return {value, sum > 0 ? ld(1) : ld(-1), err};
}

// Tolerances of the contract: f32 2 ulp, f64 4 ulp, 16-bit 1 ulp of the rounded f32 result.
template <typename T>
constexpr int kWeightedUlp = std::is_same_v<T, float> ? 2 : (std::is_same_v<T, double> ? 4 : 1);

// Compares out (and sign) against the references, in row order. Without `sign`, a negative sum
// must give NaN.
template <typename T>
::testing::AssertionResult MatchesWeighted(const std::string& label,
                                           const std::vector<WeightedRef>& refs,
                                           const std::vector<T>& out, const std::vector<T>* sign) {
  std::size_t bad = 0;
  std::string first;
  for (std::size_t r = 0; r < refs.size(); ++r) {
    WeightedRef want = refs[r];
    if (sign == nullptr && want.sign < 0) want.value = std::numeric_limits<ld>::quiet_NaN();
    std::int64_t dist = 0;
    bool ok = ElementMatches(out[r], want.value, kWeightedUlp<T>, want.err, &dist);
    std::string what = "value";
    if (ok && sign != nullptr) {
      const ld s = Elem<T>::Widen((*sign)[r]);
      ok = std::isnan(want.sign) ? std::isnan(s) : s == want.sign;
      what = "sign";
    }
    if (!ok && bad++ == 0) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "row %zu: %s: got %s (sign %s), want %.20Lg (sign %Lg, err %Lg)", r,
                    what.c_str(), Describe(out[r]).c_str(),
                    sign ? Describe((*sign)[r]).c_str() : "-", want.value, want.sign, want.err);
      first = text;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << label << ": " << bad << " of " << refs.size() << " rows wrong; first " << first;
}

// Runs weighted logsumexp on contiguous [rows, k] blocks x and b (last axis), with and without
// the sign, and checks both against the reference.
template <typename T>
::testing::AssertionResult CheckRows(const std::string& label, const std::vector<T>& x,
                                     const std::vector<T>& b, std::size_t rows, std::size_t k) {
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k)};
  const std::int64_t out_shape[1] = {static_cast<std::int64_t>(rows)};
  std::vector<WeightedRef> refs(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<ld> xr(k), br(k);
    for (std::size_t j = 0; j < k; ++j) {
      xr[j] = Elem<T>::Widen(x[r * k + j]);
      br[j] = Elem<T>::Widen(b[r * k + j]);
    }
    refs[r] = ReferenceWeighted(xr, br);
  }
  Buffer<T> out(rows, 1), sign(rows, 3);
  const smx::TensorView<T> out_view(out.data(), out_shape), sign_view(sign.data(), out_shape);
  smx::Status s = smx::logsumexp(smx::TensorView<const T>(x.data(), shape),
                                 smx::TensorView<const T>(b.data(), shape), out_view, &sign_view);
  if (!s.ok()) return ::testing::AssertionFailure() << label << ": " << s.message();
  if (!out.GuardsIntact() || !sign.GuardsIntact()) {
    return ::testing::AssertionFailure() << label << ": wrote outside out or sign";
  }
  const std::vector<T> got = out.ToVector(), got_sign = sign.ToVector();
  if (auto r = MatchesWeighted(label + " (with sign)", refs, got, &got_sign); !r) return r;
  s = smx::logsumexp(smx::TensorView<const T>(x.data(), shape),
                     smx::TensorView<const T>(b.data(), shape), out_view);
  if (!s.ok()) return ::testing::AssertionFailure() << label << ": " << s.message();
  return MatchesWeighted<T>(label + " (no sign)", refs, out.ToVector(), nullptr);
}

class WeightedLogSumExp : public TargetTest {};

template <typename T>
void RandomRowsCase(const std::string& tag) {
  std::mt19937_64 rng(20240611);
  const std::size_t lengths[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100, 1023, 1024, 1025, 3000};
  for (std::size_t k : lengths) {
    const std::size_t rows = k > 1000 ? 3 : 8;
    const std::vector<T> x = RandomNormal<T>(rng, rows * k, 0, 3);
    // Positive weights (one sign: the fast path).
    std::vector<T> pos = RandomUniform<T>(rng, rows * k, 0.05, 2);
    EXPECT_TRUE(CheckRows<T>(tag + " positive K=" + std::to_string(k), x, pos, rows, k));
    // All negative: the same magnitudes, sign -1 (NaN without the sign).
    std::vector<T> neg(pos.size());
    for (std::size_t i = 0; i < pos.size(); ++i) neg[i] = Elem<T>::Round(-Elem<T>::Widen(pos[i]));
    EXPECT_TRUE(CheckRows<T>(tag + " negative K=" + std::to_string(k), x, neg, rows, k));
    // Signed weights, mostly positive (the sums stay well away from 0).
    std::vector<T> mixed = RandomUniform<T>(rng, rows * k, -0.3, 1);
    EXPECT_TRUE(CheckRows<T>(tag + " signed K=" + std::to_string(k), x, mixed, rows, k));
    // A third of the weights 0, their x replaced by NaN, +inf or -inf: they must not count.
    std::vector<T> xz = x, bz = mixed;
    std::uniform_int_distribution<int> pick(0, 2);
    const T specials[3] = {FromDouble<T>(kNaN), FromDouble<T>(kInf), FromDouble<T>(-kInf)};
    for (std::size_t i = 0; i < xz.size(); ++i) {
      if (pick(rng) == 0 && (i % k) != 0) {
        bz[i] = FromDouble<T>(0);
        xz[i] = specials[i % 3];
      }
    }
    EXPECT_TRUE(CheckRows<T>(tag + " zero weights K=" + std::to_string(k), xz, bz, rows, k));
  }
}

TEST_P(WeightedLogSumExp, RandomRowsF32) { RandomRowsCase<float>(tag()); }
TEST_P(WeightedLogSumExp, RandomRowsF64) { RandomRowsCase<double>(tag()); }
TEST_P(WeightedLogSumExp, RandomRowsF16) { RandomRowsCase<smx::float16>(tag()); }
TEST_P(WeightedLogSumExp, RandomRowsBF16) { RandomRowsCase<smx::bfloat16>(tag()); }

// Long rows (2^20 entries, one chunk for the kernel): the sum of a million terms must be
// compensated to keep the result within a few ulps (x_j = u_j - log K, u_j in [-1, 0], b_j in
// [4, 8]: the result is about 1.3, and a plain f64 sum would be off by ~2^-44 relative).
TEST_P(WeightedLogSumExp, LongRows) {
  std::mt19937_64 rng(17);
  const std::size_t k = std::size_t{1} << 20, rows = 2;
  std::vector<double> x = RandomUniform<double>(rng, rows * k, -1, 0);
  for (double& v : x) v -= std::log(static_cast<double>(k));
  const std::vector<double> b = RandomUniform<double>(rng, rows * k, 4, 8);
  EXPECT_TRUE(CheckRows<double>(tag() + " f64 K=2^20", x, b, rows, k));
  const std::vector<float> xf(x.begin(), x.end()), bf(b.begin(), b.end());
  EXPECT_TRUE(CheckRows<float>(tag() + " f32 K=2^20", xf, bf, rows, k));
}

template <typename T>
void HugeOffsetsCase(const std::string& tag) {
  std::mt19937_64 rng(7);
  for (double offset : {1e4, -1e4, 300.0, -300.0}) {
    for (std::size_t k : {3, 40, 1500}) {
      std::vector<T> x = RandomNormal<T>(rng, 2 * k, offset, 2);
      std::vector<T> b = RandomUniform<T>(rng, 2 * k, -0.2, 1);
      EXPECT_TRUE(CheckRows<T>(
          tag + " offset " + std::to_string(offset) + " K=" + std::to_string(k), x, b, 2, k));
    }
  }
}

TEST_P(WeightedLogSumExp, HugeOffsets) {
  HugeOffsetsCase<float>(tag());
  HugeOffsetsCase<double>(tag());
}

// Strongly cancelling sums and tiny or huge weights: the rows the precise path takes.
template <typename T>
void HardRowsCase(const std::string& tag) {
  std::mt19937_64 rng(99);
  const std::size_t k = 50;
  std::vector<T> x = RandomNormal<T>(rng, 4 * k, 0, 1);
  std::vector<T> b = RandomUniform<T>(rng, 4 * k, -1, 1);
  // Row 1: pairs (v, v) with weights (w, -w (1 - 2^-10)): terms cancel to 2^-10 of their size.
  for (std::size_t j = 0; j + 1 < k; j += 2) {
    x[k + j + 1] = x[k + j];
    b[k + j + 1] = Elem<T>::Round(-Elem<T>::Widen(b[k + j]) * (1 - 0x1p-10L));
  }
  // Row 2: tiny weights; row 3: weights near the top of the range.
  for (std::size_t j = 0; j < k; ++j) {
    b[2 * k + j] =
        Elem<T>::Round(Elem<T>::Widen(b[2 * k + j]) * (sizeof(T) == 8 ? 1e-300L : 1e-30L));
    b[3 * k + j] = Elem<T>::Round(Elem<T>::Widen(b[3 * k + j]) * (sizeof(T) == 8 ? 1e307L : 1e37L));
  }
  EXPECT_TRUE(CheckRows<T>(tag + " hard rows", x, b, 4, k));

  // Terms of different x cancelling to about 2^-8 of their size (the last weight chosen so), the
  // result near 3.6: an f64 row with both signs must not keep the kernel's 1-ulp exponentials.
  std::vector<T> xc = RandomNormal<T>(rng, k, 5, 1);
  std::vector<T> bc = RandomUniform<T>(rng, k, 0.5, 1);
  ld partial = 0;
  for (std::size_t j = 0; j + 1 < k; ++j) {
    partial += Elem<T>::Widen(bc[j]) * std::exp(Elem<T>::Widen(xc[j]));
  }
  bc[k - 1] = Elem<T>::Round(-partial * (1 - 0x1p-8L) / std::exp(Elem<T>::Widen(xc[k - 1])));
  EXPECT_TRUE(CheckRows<T>(tag + " cancelling by 2^-8", xc, bc, 1, k));

  if constexpr (std::is_same_v<T, double>) {
    // The dominant term 600 below the max, result ~2.2: x - m must carry its rounding residual
    // into exp (x - m rounds by up to 2^-44, ~100 ulps of the result).
    const std::vector<double> xr = {610.123456789, 10.987654321}, br = {1e-300, std::exp(-8.0)};
    EXPECT_TRUE(CheckRows<double>(tag + " residual", xr, br, 1, 2));
    // A term that f64 flushes (e^-750 < 2^-1075) but that dominates through its weight: 2^1000
    // e^-750 ~ 2^-82 against 2^-100 at the max.
    const std::vector<double> xu = {0, -750}, bu = {0x1p-100, 0x1p1000};
    EXPECT_TRUE(CheckRows<double>(tag + " underflowing term", xu, bu, 1, 2));
  }
}

TEST_P(WeightedLogSumExp, HardRows) {
  HardRowsCase<float>(tag());
  HardRowsCase<double>(tag());
}

// Rows by hand, with the values SciPy 1.17 gives (checked there), except where smx documents a
// difference.
TEST_P(WeightedLogSumExp, SpecialValues) {
  const double inf = kInf, nan = kNaN;
  struct Case {
    std::vector<double> x, b;
    double value, sign;
  };
  const Case cases[] = {
      {{1, 2}, {1, -1}, 1.5413248546129181, -1},  // SciPy's example
      {{1, 2}, {1, 1}, 2.313261687518223, 1},
      {{inf, 1}, {0, 1}, 1, 1},                   // a zero weight drops +inf
      {{nan, 1}, {0, 1}, 1, 1},                   // and NaN
      {{-inf, 2}, {1, 0}, -inf, 0},               // only a zero term left
      {{1, 2}, {0, 0}, -inf, 0},                  // no term
      {{-inf, -inf}, {1, 1}, -inf, 0},            // fully masked
      {{1, 1}, {1, -1}, -inf, 0},                 // exact cancellation
      {{0.25, 0.25, -3}, {2.5, -2.5, 1}, -3, 1},  // cancellation leaving a far term exactly
      {{inf, 1}, {1, 1}, inf, 1},
      {{inf, 1}, {-1, 1}, inf, -1},
      {{inf, inf}, {1, -1}, nan, nan},  // inf - inf
      {{nan, 1}, {1, 1}, nan, nan},
      {{1, 2}, {nan, 1}, nan, nan},
      {{1, 2}, {inf, 1}, inf, 1},
      {{1, 2}, {-inf, 1}, inf, -1},
      {{1, 2}, {inf, -inf}, nan, nan},
      {{inf, 2}, {1, nan}, nan, nan},
      {{-inf, 1}, {nan, 1}, nan, nan},
      {{-inf, 1}, {inf, 1}, nan, nan},  // exp(-inf) * inf = 0 * inf
      {{inf, 1}, {1, 0}, inf, 1},
      {{3}, {-2}, 3 + 0.69314718055994531, -1},  // one element
      {{-7}, {0.5}, -7 - 0.69314718055994531, 1},
      // SciPy 1.17 gives NaN here (its fallback for infinite results recomputes 0 * inf); the
      // zero weight drops the entry as everywhere else.
      {{inf, inf}, {0, 1}, inf, 1},
      {{nan, inf}, {0, 1}, inf, 1},
  };
  for (const Case& c : cases) {
    const std::size_t k = c.x.size();
    std::string label = tag() + " x = {";
    for (double v : c.x) label += std::to_string(v) + " ";
    label += "} b = {";
    for (double v : c.b) label += std::to_string(v) + " ";
    label += "}";
    std::vector<ld> xl(c.x.begin(), c.x.end()), bl(c.b.begin(), c.b.end());
    const WeightedRef ref = ReferenceWeighted(xl, bl);
    // The reference agrees with the table...
    EXPECT_TRUE((std::isnan(ref.value) && std::isnan(c.value)) ||
                std::fabs(ref.value - c.value) <= 1e-15 * std::fabs(c.value) ||
                ref.value == c.value)
        << label << ": reference " << static_cast<double>(ref.value);
    EXPECT_TRUE((std::isnan(ref.sign) && std::isnan(c.sign)) || ref.sign == c.sign) << label;
    // ...and the library agrees with the reference, in f32 and f64.
    std::vector<double> xd = c.x, bd = c.b;
    EXPECT_TRUE(CheckRows<double>(label, xd, bd, 1, k));
    std::vector<float> xf(xd.begin(), xd.end()), bf(bd.begin(), bd.end());
    EXPECT_TRUE(CheckRows<float>(label + " f32", xf, bf, 1, k));
    // The span overload gives the same.
    double out = 0, sign = 0;
    ASSERT_TRUE(
        smx::logsumexp(std::span<const double>(xd), std::span<const double>(bd), out, &sign).ok());
    EXPECT_TRUE(std::isnan(c.value)
                    ? std::isnan(out)
                    : out == ref.value || std::fabs(out - c.value) <= 1e-15 * std::fabs(c.value))
        << label << " span";
  }
}

// Equal entries with opposite weights, among others with weight 0 and in long rows: S is exactly
// 0 (value -inf, sign 0), on the fast path's length and the staged one.
TEST_P(WeightedLogSumExp, ExactZeroSum) {
  for (std::size_t k : {2, 9, 1030}) {
    std::vector<double> x(k, 0), b(k, 0);
    x[0] = x[k - 1] = 3.75;
    b[0] = 0.3;
    b[k - 1] = -0.3;
    for (std::size_t j = 1; j + 1 < k; ++j) x[j] = j % 2 ? kNaN : 100.0;  // weight 0
    double out = 1, sign = 1;
    ASSERT_TRUE(
        smx::logsumexp(std::span<const double>(x), std::span<const double>(b), out, &sign).ok());
    EXPECT_EQ(out, -kInf) << tag() << " K=" << k;
    EXPECT_EQ(sign, 0) << tag() << " K=" << k;
    std::vector<float> xf(x.begin(), x.end()), bf(b.begin(), b.end());
    float outf = 1, signf = 1;
    ASSERT_TRUE(
        smx::logsumexp(std::span<const float>(xf), std::span<const float>(bf), outf, &signf).ok());
    EXPECT_EQ(outf, -std::numeric_limits<float>::infinity()) << tag() << " K=" << k;
    EXPECT_EQ(signf, 0) << tag() << " K=" << k;
  }
}

// A weighted sum near 1 keeps its digits: b = {1/2, 1/2}, x = {m, m - delta} gives
// m + log1p(expm1(-delta)/2) ~ m - delta/2, well conditioned, computed here in closed form.
TEST_P(WeightedLogSumExp, SumNearOne) {
  for (double delta : {0x1p-20, 0x1p-33, 1e-10, 0x1p-50}) {
    for (double m : {0.0, 0.125}) {
      const std::vector<double> x = {m, m - delta}, b = {0.5, 0.5};
      // x[1] - x[0] is exact in long double (Sterbenz, or both tiny).
      const ld want = ld(x[0]) + std::log1p(std::expm1(ld(x[1]) - ld(x[0])) / 2);
      double out = 0;
      ASSERT_TRUE(smx::logsumexp(std::span<const double>(x), std::span<const double>(b), out).ok());
      std::int64_t dist = 0;
      EXPECT_TRUE(ElementMatches(out, want, 4, 0, &dist))
          << tag() << " delta=" << delta << " m=" << m << ": got " << Describe(out) << ", want "
          << static_cast<double>(want) << " (" << dist << " ulp)";
      const std::vector<float> xf = {static_cast<float>(m), static_cast<float>(m - delta)};
      const std::vector<float> bf = {0.5f, 0.5f};
      const ld want_f = ld(xf[0]) + std::log1p(std::expm1(ld(xf[1]) - ld(xf[0])) / 2);
      float outf = 0;
      ASSERT_TRUE(
          smx::logsumexp(std::span<const float>(xf), std::span<const float>(bf), outf).ok());
      EXPECT_TRUE(ElementMatches(outf, want_f, 2, 0, &dist))
          << tag() << " f32 delta=" << delta << " m=" << m << ": got " << Describe(outf)
          << ", want " << static_cast<double>(want_f);
    }
  }
}

// Empty rows (K = 0) and no rows.
TEST_P(WeightedLogSumExp, EmptyAxis) {
  const std::int64_t shape[2] = {3, 0}, out_shape[1] = {3};
  std::vector<double> out(3, 5), sign(3, 5);
  const smx::TensorView<double> ov(out.data(), out_shape), sv(sign.data(), out_shape);
  ASSERT_TRUE(smx::logsumexp(smx::TensorView<const double>(nullptr, shape),
                             smx::TensorView<const double>(nullptr, shape), ov, &sv)
                  .ok());
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(out[r], -kInf) << tag();
    EXPECT_EQ(sign[r], 0) << tag();  // an empty sum is 0 (SciPy 1.17 reports -1)
  }
  const std::int64_t none[2] = {0, 4}, none_out[1] = {0};
  EXPECT_TRUE(smx::logsumexp(smx::TensorView<const double>(nullptr, none),
                             smx::TensorView<const double>(nullptr, none),
                             smx::TensorView<double>(nullptr, none_out))
                  .ok());
}

// Gathers row r of `op` along `axis` of a row-major tensor of `shape` (the rows numbered
// row-major over the other dimensions).
std::vector<ld> GatherRow(const std::vector<ld>& v, const std::vector<std::int64_t>& shape,
                          int axis, std::int64_t r) {
  const int rank = static_cast<int>(shape.size());
  std::vector<std::int64_t> index(rank, 0);
  for (int d = rank - 1; d >= 0; --d) {
    if (d == axis) continue;
    index[d] = r % shape[d];
    r /= shape[d];
  }
  std::vector<ld> row(shape[axis]);
  for (std::int64_t j = 0; j < shape[axis]; ++j) {
    index[axis] = j;
    std::int64_t flat = 0;
    for (int d = 0; d < rank; ++d) flat = flat * shape[d] + index[d];
    row[j] = v[flat];
  }
  return row;
}

// Every axis of a [4, 5, 6] tensor: x contiguous or a strided view (every other element of a
// larger buffer, in reversed dimension order), b full or broadcast from one row along the axis
// (stride 0 elsewhere), out with or without the axis, strided, and the sign strided.
template <typename T>
void AxesCase(const std::string& target) {
  std::mt19937_64 rng(5);
  const std::vector<std::int64_t> shape = {4, 5, 6};
  const std::int64_t n = 4 * 5 * 6;
  const std::vector<T> xv = RandomNormal<T>(rng, n, 1, 2);
  const std::vector<T> bv = RandomUniform<T>(rng, n, -0.25, 1);
  // A strided copy: element (i, j, l) at 2 * (l * 20 + j * 4 + i).
  std::vector<T> x_strided(2 * n, FromDouble<T>(kNaN));
  for (std::int64_t i = 0; i < 4; ++i) {
    for (std::int64_t j = 0; j < 5; ++j) {
      for (std::int64_t l = 0; l < 6; ++l)
        x_strided[2 * (l * 20 + j * 4 + i)] = xv[(i * 5 + j) * 6 + l];
    }
  }
  const std::int64_t strided[3] = {2, 8, 40};
  for (int axis = 0; axis < 3; ++axis) {
    for (bool use_strided : {false, true}) {
      for (bool broadcast : {false, true}) {
        for (bool keepdim : {false, true}) {
          // b: broadcast takes b's values of row 0 along the axis for every row.
          std::vector<T> b_full = bv;
          std::int64_t b_strides[3] = {30, 6, 1};
          if (broadcast) {
            for (int d = 0; d < 3; ++d) b_strides[d] = d == axis ? b_strides[d] : 0;
          }
          const std::int64_t k = shape[axis];
          const std::int64_t rows = n / k;
          std::vector<ld> xl = Widen(xv), bl(n);
          for (std::int64_t i = 0; i < 4; ++i) {
            for (std::int64_t j = 0; j < 5; ++j) {
              for (std::int64_t l = 0; l < 6; ++l) {
                bl[(i * 5 + j) * 6 + l] =
                    Elem<T>::Widen(b_full[i * b_strides[0] + j * b_strides[1] + l * b_strides[2]]);
              }
            }
          }
          std::vector<WeightedRef> refs(rows);
          for (std::int64_t r = 0; r < rows; ++r) {
            refs[r] =
                ReferenceWeighted(GatherRow(xl, shape, axis, r), GatherRow(bl, shape, axis, r));
          }
          // out: the reduced shape, with stride 3 (out) and 2 (sign) on its last dimension.
          std::vector<std::int64_t> oshape;
          for (int d = 0; d < 3; ++d) {
            if (d != axis)
              oshape.push_back(shape[d]);
            else if (keepdim)
              oshape.push_back(1);
          }
          const int orank = static_cast<int>(oshape.size());
          std::vector<std::int64_t> ostr(orank), sstr(orank);
          std::int64_t o_acc = 3, s_acc = 2;
          for (int d = orank - 1; d >= 0; --d) {
            ostr[d] = o_acc;
            sstr[d] = s_acc;
            o_acc *= oshape[d];
            s_acc *= oshape[d];
          }
          std::vector<T> out(3 * rows, FromDouble<T>(-12345.0)), sign(2 * rows, FromDouble<T>(7.0));
          const smx::TensorView<const T> x_view =
              use_strided ? smx::TensorView<const T>(x_strided.data(), shape, strided)
                          : smx::TensorView<const T>(xv.data(), shape);
          const smx::TensorView<const T> b_view(b_full.data(), shape, b_strides);
          const smx::TensorView<T> o_view(out.data(), oshape, ostr),
              s_view(sign.data(), oshape, sstr);
          const std::string label = target + " " + Elem<T>::kName + " axis " +
                                    std::to_string(axis) + (use_strided ? " strided" : "") +
                                    (broadcast ? " broadcast b" : "") + (keepdim ? " keepdim" : "");
          smx::Status s = smx::logsumexp(x_view, b_view, o_view, &s_view, {.axis = axis - 3});
          ASSERT_TRUE(s.ok()) << label << ": " << s.message();
          std::vector<T> got(rows), got_sign(rows);
          for (std::int64_t r = 0; r < rows; ++r) {
            got[r] = out[3 * r];
            got_sign[r] = sign[2 * r];
            EXPECT_EQ(BitsOf(out[3 * r + 1]), BitsOf(FromDouble<T>(-12345.0))) << label;
            EXPECT_EQ(BitsOf(sign[2 * r + 1]), BitsOf(FromDouble<T>(7.0))) << label;
          }
          EXPECT_TRUE(MatchesWeighted(label, refs, got, &got_sign));
        }
      }
    }
  }
}

TEST_P(WeightedLogSumExp, AxesAndStrides) {
  AxesCase<float>(tag());
  AxesCase<double>(tag());
  AxesCase<smx::float16>(tag());
  AxesCase<smx::bfloat16>(tag());
}

TEST_P(WeightedLogSumExp, Threads) {
  std::mt19937_64 rng(3);
  const std::size_t rows = 512, k = 300;
  const std::vector<double> x = RandomNormal<double>(rng, rows * k, 0, 2);
  const std::vector<double> b = RandomUniform<double>(rng, rows * k, -0.5, 1);
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k)};
  const std::int64_t oshape[1] = {static_cast<std::int64_t>(rows)};
  const int saved = smx::get_num_threads();
  std::vector<double> one(rows), many(rows);
  smx::set_num_threads(1);
  ASSERT_TRUE(smx::logsumexp(smx::TensorView<const double>(x.data(), shape),
                             smx::TensorView<const double>(b.data(), shape),
                             smx::TensorView<double>(one.data(), oshape))
                  .ok());
  smx::set_num_threads(3);
  ASSERT_TRUE(smx::logsumexp(smx::TensorView<const double>(x.data(), shape),
                             smx::TensorView<const double>(b.data(), shape),
                             smx::TensorView<double>(many.data(), oshape))
                  .ok());
  smx::set_num_threads(saved);
  EXPECT_TRUE(BitwiseEqual(tag() + " 1 vs 3 threads", one.data(), many.data(), rows));
}

TEST_P(WeightedLogSumExp, Errors) {
  std::vector<float> x(6, 0), b(8, 1), out(3), sign(3);
  std::vector<double> bd(6, 1);
  const std::int64_t shape[2] = {3, 2}, bshape[2] = {4, 2}, oshape[1] = {3}, two[1] = {2};
  const smx::TensorRef xr = smx::TensorView<float>(x.data(), shape).ref();
  const smx::TensorRef outr = smx::TensorView<float>(out.data(), oshape).ref();
  smx::Status s = smx::logsumexp(xr, smx::TensorView<float>(b.data(), bshape).ref(), outr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("b has shape [4, 2] but x has shape [3, 2]"), std::string::npos)
      << s.message();
  s = smx::logsumexp(xr, smx::TensorView<double>(bd.data(), shape).ref(), outr);
  EXPECT_NE(s.message().find("x is f32 but b is f64"), std::string::npos) << s.message();
  const smx::TensorRef br = smx::TensorView<float>(b.data(), shape).ref();
  const smx::TensorRef bad_sign = smx::TensorView<float>(sign.data(), two).ref();
  s = smx::logsumexp(xr, br, outr, &bad_sign);
  EXPECT_NE(s.message().find("sign must have out's dtype and shape (f32 [3]), got f32 [2]"),
            std::string::npos)
      << s.message();
  s = smx::logsumexp(xr, br, outr, &outr);
  EXPECT_NE(s.message().find("sign and out are the same buffer"), std::string::npos) << s.message();
  s = smx::logsumexp(xr, br, smx::TensorView<float>(out.data(), two).ref());
  EXPECT_NE(s.message().find("output shape [2] does not match input shape [3, 2]"),
            std::string::npos)
      << s.message();
  s = smx::logsumexp(xr, br, outr, nullptr, {.axis = 2});
  EXPECT_NE(s.message().find("axis 2 is out of range"), std::string::npos) << s.message();
  s = smx::logsumexp(xr, smx::ConstTensorRef(nullptr, smx::DType::kF32, br.layout), outr);
  EXPECT_NE(s.message().find("b is null but has 6 elements"), std::string::npos) << s.message();
  EXPECT_EQ(s.code(), smx::StatusCode::kInvalidArgument);
}

SMX_INSTANTIATE_TARGETS(WeightedLogSumExp);

// ---- The derivatives of logsumexp ----

// logsumexp of a long-double row, for finite differences (plain: the row is small and tame).
ld Lse(const std::vector<ld>& z) {
  ld m = z[0];
  for (ld v : z) m = std::max(m, v);
  ld s = 0;
  for (ld v : z) s += std::exp(v - m);
  return m + std::log(s);
}

class LogSumExpDerivatives : public TargetTest {};

// Gradient: central differences (L(z + h e_i) - L(z - h e_i)) / 2h with h = 2^-17: truncation
// h^2 |L'''| / 6 < 1e-11, rounding 2^-64 / h ~ 1e-14. Hessian: the four-point second difference
// with h = 2^-12: truncation h^2 |L''''| / 6 < 1e-8, rounding 2^-64 / h^2 ~ 1e-12.
TEST_P(LogSumExpDerivatives, AgainstFiniteDifferences) {
  std::mt19937_64 rng(11);
  const std::size_t rows = 3, k = 6;
  const std::vector<double> z = RandomNormal<double>(rng, rows * k, 0.5, 1.5);
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k)};
  const std::int64_t hshape[3] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k),
                                  static_cast<std::int64_t>(k)};
  std::vector<double> g(rows * k), h(rows * k * k);
  ASSERT_TRUE(smx::logsumexp_gradient(smx::TensorView<const double>(z.data(), shape),
                                      smx::TensorView<double>(g.data(), shape))
                  .ok());
  ASSERT_TRUE(smx::logsumexp_hessian(smx::TensorView<const double>(z.data(), shape),
                                     smx::TensorView<double>(h.data(), hshape))
                  .ok());
  std::vector<float> zf(z.begin(), z.end()), gf(rows * k), hf(rows * k * k);
  ASSERT_TRUE(smx::logsumexp_gradient(smx::TensorView<const float>(zf.data(), shape),
                                      smx::TensorView<float>(gf.data(), shape))
                  .ok());
  ASSERT_TRUE(smx::logsumexp_hessian(smx::TensorView<const float>(zf.data(), shape),
                                     smx::TensorView<float>(hf.data(), hshape))
                  .ok());
  const ld hg = 0x1p-17L, hh = 0x1p-12L;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<ld> row(k), rowf(k);
    for (std::size_t i = 0; i < k; ++i) {
      row[i] = z[r * k + i];
      rowf[i] = zf[r * k + i];
    }
    auto shifted = [](std::vector<ld> v, std::size_t i, ld di, std::size_t j, ld dj) {
      v[i] += di;
      v[j] += dj;
      return v;
    };
    for (std::size_t i = 0; i < k; ++i) {
      const ld fd = (Lse(shifted(row, i, hg, i, 0)) - Lse(shifted(row, i, -hg, i, 0))) / (2 * hg);
      EXPECT_NEAR(static_cast<double>(fd), g[r * k + i], 1e-10)
          << tag() << " row " << r << " i " << i;
      const ld fdf =
          (Lse(shifted(rowf, i, hg, i, 0)) - Lse(shifted(rowf, i, -hg, i, 0))) / (2 * hg);
      EXPECT_NEAR(static_cast<double>(fdf), gf[r * k + i],
                  5e-7 * std::fabs(static_cast<double>(fdf)) + 1e-10)
          << tag() << " f32 row " << r << " i " << i;
      for (std::size_t j = 0; j < k; ++j) {
        auto second = [&](const std::vector<ld>& v) {
          return (Lse(shifted(v, i, hh, j, hh)) - Lse(shifted(v, i, hh, j, -hh)) -
                  Lse(shifted(v, i, -hh, j, hh)) + Lse(shifted(v, i, -hh, j, -hh))) /
                 (4 * hh * hh);
        };
        const ld fd2 = second(row);
        EXPECT_NEAR(static_cast<double>(fd2), h[(r * k + i) * k + j], 1e-7)
            << tag() << " row " << r << " H[" << i << "][" << j << "]";
        const ld fd2f = second(rowf);
        EXPECT_NEAR(static_cast<double>(fd2f), hf[(r * k + i) * k + j],
                    2e-7 * std::fabs(static_cast<double>(fd2f)) + 1e-7)
            << tag() << " f32 row " << r << " H[" << i << "][" << j << "]";
      }
    }
  }
}

// Along a middle axis, and the errors name the op.
TEST_P(LogSumExpDerivatives, AxisAndErrors) {
  std::mt19937_64 rng(12);
  const std::int64_t shape[3] = {2, 4, 3};
  const std::vector<double> z = RandomNormal<double>(rng, 24, 0, 1);
  std::vector<double> g(24), h(2 * 3 * 4 * 4);
  const std::int64_t hshape[4] = {2, 3, 4, 4};
  ASSERT_TRUE(smx::logsumexp_gradient(smx::TensorView<const double>(z.data(), shape),
                                      smx::TensorView<double>(g.data(), shape), 1)
                  .ok());
  ASSERT_TRUE(smx::logsumexp_hessian(smx::TensorView<const double>(z.data(), shape),
                                     smx::TensorView<double>(h.data(), hshape), 1)
                  .ok());
  for (int a = 0; a < 2; ++a) {
    for (int c = 0; c < 3; ++c) {
      std::vector<ld> row(4);
      for (int i = 0; i < 4; ++i) row[i] = z[(a * 4 + i) * 3 + c];
      const ld hg = 0x1p-17L;
      for (int i = 0; i < 4; ++i) {
        std::vector<ld> up = row, down = row;
        up[i] += hg;
        down[i] -= hg;
        EXPECT_NEAR(static_cast<double>((Lse(up) - Lse(down)) / (2 * hg)), g[(a * 4 + i) * 3 + c],
                    1e-10);
        // H[i][i] = y_i (1 - y_i) with y_i the gradient.
        const double yi = g[(a * 4 + i) * 3 + c];
        EXPECT_NEAR(h[((a * 3 + c) * 4 + i) * 4 + i], yi * (1 - yi), 1e-15);
      }
    }
  }
  const std::int64_t bad[3] = {2, 4, 4};
  smx::Status s = smx::logsumexp_hessian(smx::TensorView<const double>(z.data(), shape),
                                         smx::TensorView<double>(h.data(), bad), 1);
  EXPECT_EQ(s.code(), smx::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("logsumexp_hessian: softmax_jacobian: the jacobian must be f64 "
                              "[2, 3, 4, 4]",
                              0),
            0u)
      << s.message();
  s = smx::logsumexp_gradient(smx::TensorView<const double>(z.data(), shape),
                              smx::TensorView<double>(g.data(), bad), 1);
  EXPECT_EQ(s.message().rfind("logsumexp_gradient: softmax: output shape [2, 4, 4]", 0), 0u)
      << s.message();
}

SMX_INSTANTIATE_TARGETS(LogSumExpDerivatives);

}  // namespace
}  // namespace smx_test
