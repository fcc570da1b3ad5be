// Mathematical properties of softmax, log_softmax and logsumexp, with bounds derived from the
// contract (f32 4 ULP, f64 8 ULP per element), on every SIMD target.
#include <algorithm>
#include <cmath>

#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

// ulp(y) <= 2^(1-p) |y| for a normal y, so an element within `ulp` ULP has relative error
// below ulp * 2^(1-p).
template <typename T>
constexpr ld RelTol() {
  return Elem<T>::kUlp * static_cast<ld>(std::numeric_limits<T>::epsilon());
}

class Properties : public TargetTest {
 protected:
  template <typename T>
  void SumsToOne() {
    for (std::size_t k : {3, 17, 100, 1000, 4097}) {
      for (double t : {1.0, 0.5, 3.0}) {
        std::mt19937_64 rng(k);
        const std::vector<T> z = RandomNormal<T>(rng, 4 * k, 0.0, 3.0);
        std::vector<T> y(z.size());
        ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 4, k, t).ok());
        for (std::size_t r = 0; r < 4; ++r) {
          ld sum = 0;
          for (std::size_t i = 0; i < k; ++i) sum += static_cast<ld>(y[r * k + i]);
          // Each element within ulp*eps relative of its truth (or 1e-37 absolute for f32 values
          // below 2^-126), and the truths sum to exactly 1.
          const ld bound = RelTol<T>() + (std::is_same_v<T, float> ? k * 1e-37L : 0);
          EXPECT_LE(std::fabs(sum - 1), bound)
              << Label(Op::kSoftmax, Elem<T>::kName, k, 4, t) << " row " << r << " ["
              << target_name() << "]: sum - 1 = " << static_cast<double>(sum - 1);
        }
      }
    }
  }

  // Multiples of 2^-10 in [-8, 8] plus c = 64 or -1000 stay exact in f32 and f64.
  template <typename T>
  static std::vector<T> GridRow(std::size_t k, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> u(-8192, 8192);
    std::vector<T> z(k);
    for (auto& v : z) v = static_cast<T>(std::ldexp(static_cast<double>(u(rng)), -10));
    return z;
  }

  // softmax(z + c) = softmax(z) and log_softmax likewise: both within the contract of the one
  // truth; logsumexp(z + c) = logsumexp(z) + c within the contract.
  template <typename T>
  void TranslationInvariance() {
    std::mt19937_64 rng(7);
    for (std::size_t k : {2, 5, 16, 33, 1000}) {
      const std::vector<T> z = GridRow<T>(k, rng);
      const std::vector<ld> zl = Widen(z);
      for (double c : {64.0, -1000.0}) {
        std::vector<T> zc(k);
        for (std::size_t i = 0; i < k; ++i) zc[i] = z[i] + static_cast<T>(c);
        const std::string shift = "z+" + std::to_string(static_cast<int>(c)) + " " + tag();
        for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
          for (double t : {1.0, 0.5, 3.0}) {
            std::vector<T> y(k), yc(k);
            ASSERT_TRUE(RunRows(op, z.data(), y.data(), 1, k, t).ok());
            ASSERT_TRUE(RunRows(op, zc.data(), yc.data(), 1, k, t).ok());
            const std::vector<ld> ref = ReferenceRows(op, zl, 1, k, t);
            EXPECT_TRUE(MatchesReference(Label(op, Elem<T>::kName, k, 1, t, tag()), y, ref));
            EXPECT_TRUE(MatchesReference(Label(op, Elem<T>::kName, k, 1, t, shift), yc, ref));
          }
        }
        T lse_c = 0;
        ASSERT_TRUE(smx::logsumexp(std::span<const T>(zc), lse_c).ok());
        const ld want = ReferenceLogSumExpRow(zl.data(), k) + c;
        std::int64_t d;
        EXPECT_TRUE(ElementMatches(lse_c, want, Elem<T>::kUlp, 0, &d))
            << "logsumexp(z + " << c << ") = " << Describe(lse_c)
            << ", logsumexp(z) + c = " << static_cast<double>(want) << " " << tag();
      }
    }
  }

  template <typename T>
  void HardmaxLimit() {
    // Distinct integers (gaps >= 1): at T = 1e-3 every non-max exp(-gap/T) <= exp(-1000)
    // underflows in f32 and f64, so the result is exactly the hardmax of T = 0. One row has a
    // three-way tie at the top.
    std::mt19937_64 rng(11);
    for (std::size_t k : {2, 7, 64, 100}) {
      std::vector<T> z(2 * k);
      for (std::size_t i = 0; i < k; ++i) z[i] = static_cast<T>(static_cast<double>(i) * 1.0 - 50);
      std::shuffle(z.begin(), z.begin() + k, rng);
      for (std::size_t i = 0; i < k; ++i) z[k + i] = static_cast<T>(static_cast<int>(i % 5) - 3);
      std::vector<T> y_small(2 * k), y_zero(2 * k);
      ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y_small.data(), 2, k, 1e-3).ok());
      ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y_zero.data(), 2, k, 0.0).ok());
      EXPECT_TRUE(
          BitwiseEqual("softmax T=1e-3 vs T=0, K=" + std::to_string(k) + " [" + target_name() + "]",
                       y_small.data(), y_zero.data(), 2 * k));
      const std::vector<ld> ref = ReferenceRows(Op::kSoftmax, Widen(z), 2, k, 0.0);
      EXPECT_TRUE(MatchesReference("hardmax K=" + std::to_string(k), y_zero, ref));
      // And the max probability grows toward 1 as T shrinks.
      T last = 0;
      for (double t : {10.0, 1.0, 0.3, 0.1}) {
        std::vector<T> y(k);
        ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 1, k, t).ok());
        const T top = *std::max_element(y.begin(), y.end());
        EXPECT_GT(top, last) << "max probability at T=" << t << ", K=" << k;
        last = top;
      }
    }
  }

  template <typename T>
  void UniformLimit() {
    std::mt19937_64 rng(13);
    for (std::size_t k : {3, 50, 1000}) {
      const std::vector<T> z = RandomUniform<T>(rng, k, -1, 1);
      ld last = 1e30L;
      for (double t : {10.0, 100.0, 1e4}) {
        std::vector<T> y(k);
        ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 1, k, t).ok());
        ld worst = 0;
        for (T v : y) worst = std::max(worst, std::fabs(static_cast<ld>(v) * k - 1));
        // |z_i - z_j| <= 2, so K y_i lies in [e^(-2/T), e^(2/T)]; plus rounding.
        EXPECT_LE(worst, std::expm1(2.0L / t) + 2 * RelTol<T>()) << "T=" << t << " K=" << k;
        EXPECT_LT(worst, last) << "deviation from uniform must shrink as T grows, T=" << t;
        last = worst;
      }
      std::vector<T> y(k);
      ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 1, k, kInf).ok());
      const std::vector<ld> ref(k, 1.0L / k);
      EXPECT_TRUE(MatchesReference("softmax T=inf K=" + std::to_string(k), y, ref));
    }
  }

  template <typename T>
  void TwoClassIsSigmoid() {
    std::mt19937_64 rng(17);
    for (double t : {1.0, 2.0, 0.5}) {
      const std::vector<T> z = RandomNormal<T>(rng, 2 * 200, 0.0, 8.0);
      std::vector<T> y(z.size());
      ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 200, 2, t).ok());
      std::vector<ld> want(z.size());
      for (std::size_t r = 0; r < 200; ++r) {
        const ld d = (static_cast<ld>(z[2 * r]) - static_cast<ld>(z[2 * r + 1])) / t;
        want[2 * r] = 1 / (1 + std::exp(-d));  // sigmoid(d)
        want[2 * r + 1] = 1 / (1 + std::exp(d));
      }
      EXPECT_TRUE(MatchesReference(
          "2-class softmax vs sigmoid, T=" + std::to_string(t) + " [" + target_name() + "]", y,
          want));
    }
  }

  template <typename T>
  void SmallExamples() {
    const std::vector<T> zeros(3, T(0));
    std::vector<T> y(3), ly(3);
    ASSERT_TRUE(RunRows(Op::kSoftmax, zeros.data(), y.data(), 1, 3).ok());
    ASSERT_TRUE(RunRows(Op::kLogSoftmax, zeros.data(), ly.data(), 1, 3).ok());
    T lse = 0;
    ASSERT_TRUE(smx::logsumexp(std::span<const T>(zeros), lse).ok());
    EXPECT_TRUE(MatchesReference("softmax([0,0,0])", y, std::vector<ld>(3, 1.0L / 3)));
    EXPECT_TRUE(MatchesReference("log_softmax([0,0,0])", ly, std::vector<ld>(3, -std::log(3.0L))));
    std::int64_t d;
    EXPECT_TRUE(ElementMatches(lse, std::log(3.0L), Elem<T>::kUlp, 0, &d)) << Describe(lse);
    // The header's example: softmax([2, 1, 0.5]) ~ {0.6285, 0.2312, 0.1402}.
    const std::vector<T> z = {T(2), T(1), T(0.5)};
    ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 1, 3).ok());
    EXPECT_NEAR(static_cast<double>(y[0]), 0.6285, 1e-4);
    EXPECT_NEAR(static_cast<double>(y[1]), 0.2312, 1e-4);
    EXPECT_NEAR(static_cast<double>(y[2]), 0.1402, 1e-4);
  }

  template <typename T>
  void EveryParameterMatters() {
    std::mt19937_64 rng(19);
    const std::vector<T> z = RandomNormal<T>(rng, 9, 0.0, 2.0);  // [3, 3], not symmetric
    for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
      std::vector<T> t1(9), t2(9), t0(9), tinf(9), axis0(9);
      ASSERT_TRUE(RunRows(op, z.data(), t1.data(), 3, 3, 1.0).ok());
      ASSERT_TRUE(RunRows(op, z.data(), t2.data(), 3, 3, 2.0).ok());
      ASSERT_TRUE(RunRows(op, z.data(), t0.data(), 3, 3, 0.0).ok());
      ASSERT_TRUE(RunRows(op, z.data(), tinf.data(), 3, 3, kInf).ok());
      const std::int64_t shape[2] = {3, 3};
      ASSERT_TRUE(RunOp<T>(op, smx::TensorView<const T>(z.data(), shape),
                           smx::TensorView<T>(axis0.data(), shape), 1.0, 0)
                      .ok());
      const auto differs = [](const std::vector<T>& a, const std::vector<T>& b) {
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (UlpDistance(a[i], b[i]) > 2 * Elem<T>::kUlp) return true;
        }
        return false;
      };
      EXPECT_TRUE(differs(t1, t2)) << OpName(op) << ": T = 1 and T = 2 give the same output";
      EXPECT_TRUE(differs(t1, t0)) << OpName(op) << ": T = 1 and T = 0 give the same output";
      EXPECT_TRUE(differs(t1, tinf)) << OpName(op) << ": T = 1 and T = inf give the same output";
      EXPECT_TRUE(differs(t1, axis0)) << OpName(op) << ": axis 1 and axis 0 give the same output";
      // And each is right.
      const std::vector<ld> zl = Widen(z);
      EXPECT_TRUE(MatchesReference("T=2", t2, ReferenceRows(op, zl, 3, 3, 2.0)));
      EXPECT_TRUE(MatchesReference("axis 0", axis0, ReferenceAlongAxis(op, zl, shape, 0, 1.0)));
    }
  }

  template <typename T>
  void LogSoftmaxIsLogOfSoftmax() {
    std::mt19937_64 rng(23);
    for (std::size_t k : {5, 64, 1000}) {
      for (double t : {1.0, 0.5, 3.0}) {
        const std::vector<T> z = RandomNormal<T>(rng, k, 0.0, 4.0);
        std::vector<T> y(k), ly(k);
        ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 1, k, t).ok());
        ASSERT_TRUE(RunRows(Op::kLogSoftmax, z.data(), ly.data(), 1, k, t).ok());
        std::size_t compared = 0;
        for (std::size_t i = 0; i < k; ++i) {
          if (!(std::fabs(y[i]) >= std::numeric_limits<T>::min())) continue;  // normal only
          ++compared;
          // log(y (1 + delta)) = log y + delta with |delta| <= RelTol, plus ly's own ULP.
          const ld diff = std::fabs(static_cast<ld>(ly[i]) - std::log(static_cast<ld>(y[i])));
          const ld bound = RelTol<T>() * (1 + std::fabs(static_cast<ld>(ly[i])));
          EXPECT_LE(diff, bound) << "K=" << k << " T=" << t << " i=" << i << ": log_softmax "
                                 << Describe(ly[i]) << " vs log(softmax) of " << Describe(y[i]);
        }
        EXPECT_GT(compared, k / 2) << "too few normal probabilities to compare";
      }
    }
  }
};

TEST_P(Properties, SumsToOneF32) { SumsToOne<float>(); }
TEST_P(Properties, SumsToOneF64) { SumsToOne<double>(); }
TEST_P(Properties, TranslationInvarianceF32) { TranslationInvariance<float>(); }
TEST_P(Properties, TranslationInvarianceF64) { TranslationInvariance<double>(); }
TEST_P(Properties, HardmaxLimitF32) { HardmaxLimit<float>(); }
TEST_P(Properties, HardmaxLimitF64) { HardmaxLimit<double>(); }
TEST_P(Properties, UniformLimitF32) { UniformLimit<float>(); }
TEST_P(Properties, UniformLimitF64) { UniformLimit<double>(); }
TEST_P(Properties, TwoClassIsSigmoidF32) { TwoClassIsSigmoid<float>(); }
TEST_P(Properties, TwoClassIsSigmoidF64) { TwoClassIsSigmoid<double>(); }
TEST_P(Properties, SmallExamplesF32) { SmallExamples<float>(); }
TEST_P(Properties, SmallExamplesF64) { SmallExamples<double>(); }
TEST_P(Properties, EveryParameterMattersF32) { EveryParameterMatters<float>(); }
TEST_P(Properties, EveryParameterMattersF64) { EveryParameterMatters<double>(); }
TEST_P(Properties, LogSoftmaxIsLogOfSoftmaxF32) { LogSoftmaxIsLogOfSoftmax<float>(); }
TEST_P(Properties, LogSoftmaxIsLogOfSoftmaxF64) { LogSoftmaxIsLogOfSoftmax<double>(); }

// The temperature is a double and divides the logits exactly (the contract): for f32 data a
// temperature that float32 cannot represent (1e-3, 0.1, 0.3) must not be rounded to float32
// first. At T = 1e-3 rounding T changes z/T by up to |z/T| * 3e-8, thousands of ULP in exp.
TEST_P(Properties, TemperatureIsTheExactDoubleF32) {
  std::mt19937_64 rng(29);
  for (double t : {1e-3, 0.1, 0.3, 7.0}) {
    for (std::size_t k : {2, 3, 17, 100}) {
      const std::vector<float> z = RandomNormal<float>(rng, 3 * k, 0.0, 2.0);
      for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
        std::vector<float> y(z.size());
        ASSERT_TRUE(RunRows(op, z.data(), y.data(), 3, k, t).ok());
        EXPECT_TRUE(MatchesReference(Label(op, "f32", k, 3, t, tag()), y,
                                     ReferenceRows(op, Widen(z), 3, k, t)));
      }
    }
  }
}

// A finite temperature whose reciprocal does not fit a double (below ~1e-307, above ~1e307) is an
// ordinary temperature: computed (in long double where that has the range, as on x86) and within
// the contract. Logits at the temperature's scale make the outputs non-trivial.
template <typename T>
void ExtremeTemperatures(const std::string& tag) {
  constexpr bool kHasRange = std::numeric_limits<long double>::max_exponent > 2048;
  std::mt19937_64 rng(31);
  for (double t : {1e-310, 4.9e-324, 1e308, 1.7976931348623157e308}) {
    for (std::size_t k : {1, 2, 7, 100}) {
      // f64: logits at T's scale (z/T of order 1); f32 cannot hold them, so ordinary logits
      // (hardmax-like at a tiny T, uniform-like at a huge one).
      const double scale = std::is_same_v<T, double> ? t : 1.0;
      std::vector<T> z = RandomNormal<T>(rng, 3 * k, 0.0, 1.0);
      for (auto& v : z) v = static_cast<T>(static_cast<double>(v) * scale);
      for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
        std::vector<T> y(z.size());
        const smx::Status s = RunRows(op, z.data(), y.data(), 3, k, t);
        const std::string label = Label(op, Elem<T>::kName, k, 3, t, tag);
        if (!kHasRange) {
          EXPECT_EQ(s.code(), smx::StatusCode::kInvalidArgument) << label;
          continue;
        }
        ASSERT_TRUE(s.ok()) << label << ": " << s.message();
        EXPECT_TRUE(MatchesReference(label, y, ReferenceRows(op, Widen(z), 3, k, t)));
      }
    }
  }
}
TEST_P(Properties, ExtremeTemperaturesF32) { ExtremeTemperatures<float>(tag()); }
TEST_P(Properties, ExtremeTemperaturesF64) { ExtremeTemperatures<double>(tag()); }

SMX_INSTANTIATE_TARGETS(Properties);

}  // namespace
}  // namespace smx_test
