// sigmoid, log_sigmoid and softplus (smx/sigmoid.h): the golden cases, a long-double reference
// over the whole range (huge, tiny, subnormal, +-inf, NaN, +-0) and every length up to a few
// vectors, layouts (strided, rank 0 and 3, in place, misaligned), f16/bf16, the identities with
// softmax, log_softmax and logsumexp of [x, 0], errors, and threads; on every SIMD target.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "golden.h"
#include "smx/runtime.h"
#include "smx/sigmoid.h"
#include "smx/softmax.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

enum class SigOp { kSigmoid, kLogSigmoid, kSoftplus };
constexpr SigOp kSigOps[] = {SigOp::kSigmoid, SigOp::kLogSigmoid, SigOp::kSoftplus};

const char* SigName(SigOp op) {
  switch (op) {
    case SigOp::kSigmoid: return "sigmoid";
    case SigOp::kLogSigmoid: return "log_sigmoid";
    case SigOp::kSoftplus: return "softplus";
  }
  return "?";
}

template <typename T>
smx::Status RunSig(SigOp op, const smx::TensorView<const T>& x, const smx::TensorView<T>& y) {
  switch (op) {
    case SigOp::kSigmoid: return smx::sigmoid(x, y);
    case SigOp::kLogSigmoid: return smx::log_sigmoid(x, y);
    case SigOp::kSoftplus: return smx::softplus(x, y);
  }
  return smx::Status(smx::StatusCode::kInternal, "bad op");
}

// The exact result in long double (64-bit mantissa: 2^-11 f64 ulp, far below the tolerances).
ld Reference(SigOp op, ld x) {
  if (std::isnan(x)) return x;
  const ld e = std::exp(-std::fabs(x));  // in [0, 1]
  switch (op) {
    case SigOp::kSigmoid: return x >= 0 ? 1 / (1 + e) : e / (1 + e);
    case SigOp::kLogSigmoid: return std::fmin(x, ld(0)) - std::log1p(e);
    case SigOp::kSoftplus: return std::fmax(x, ld(0)) + std::log1p(e);
  }
  return 0;
}

template <typename T>
std::vector<ld> ReferenceOf(SigOp op, const std::vector<T>& x) {
  std::vector<ld> r(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) r[i] = Reference(op, Elem<T>::Widen(x[i]));
  return r;
}

// Values over the whole range: every binade of both signs, subnormals, +-0, +-inf, NaN.
template <typename T>
std::vector<T> WideValues(std::mt19937_64& rng, std::size_t n) {
  constexpr bool kF64 = std::is_same_v<T, double>;
  const int max_exp = kF64 ? 1023 : 127, min_exp = kF64 ? -1074 : -149;
  std::uniform_int_distribution<int> binade(min_exp, max_exp);
  std::uniform_real_distribution<double> mant(1.0, 2.0), unit(0.0, 1.0);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = unit(rng);
    double x;
    if (u < 0.5) {
      x = std::ldexp(mant(rng), binade(rng));
    } else if (u < 0.9) {
      x = (unit(rng) * 2 - 1) * (kF64 ? 800 : 120);  // where the results are not trivial
    } else {
      const double specials[] = {0.0, -0.0, kInf, -kInf, kNaN, 1e-40, -1e-40, 88.7, -88.7, 745.2};
      x = specials[static_cast<std::size_t>(unit(rng) * 10) % 10];
    }
    v[i] = static_cast<T>(unit(rng) < 0.5 ? x : -x);
  }
  return v;
}

class Sigmoid : public TargetTest {
 protected:
  template <typename T>
  void RunGolden() {
    const GoldenFile& g = Golden();
    ASSERT_TRUE(g.error.empty()) << g.error;
    std::size_t run = 0;
    for (const auto& c : g.elementwise) {
      if (c.dtype != Elem<T>::kName) continue;
      const SigOp op = c.op == "sigmoid" ? SigOp::kSigmoid : SigOp::kLogSigmoid;
      EXPECT_EQ(c.ulp, Elem<T>::kUlp) << c.id << ": tolerance differs from the contract";
      std::vector<T> x(c.x.size()), y(c.x.size());
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(c.x[i]);  // exact
      const std::vector<std::int64_t>& shape = c.shape;
      ASSERT_TRUE(RunSig<T>(op, smx::TensorView<const T>(x.data(), shape),
                            smx::TensorView<T>(y.data(), shape))
                      .ok())
          << c.id;
      const std::vector<ld> want(c.expected.begin(), c.expected.end());
      EXPECT_TRUE(MatchesReference(c.id + " " + tag(), y, want, c.ulp));
      // In place too.
      ASSERT_TRUE(RunSig<T>(op, smx::TensorView<const T>(x.data(), shape),
                            smx::TensorView<T>(x.data(), shape))
                      .ok());
      EXPECT_TRUE(MatchesReference(c.id + " in place " + tag(), x, want, c.ulp));
      ++run;
    }
    EXPECT_GE(run, 4u) << "golden cases of sigmoid and log_sigmoid in " << Elem<T>::kName;
  }

  template <typename T>
  void RunWideRange() {
    std::mt19937_64 rng(std::is_same_v<T, double> ? 2 : 1);
    const std::vector<T> x = WideValues<T>(rng, 20000);
    for (SigOp op : kSigOps) {
      std::vector<T> y(x.size());
      ASSERT_TRUE(RunSig<T>(op, smx::TensorView<const T>(x.data(), {std::int64_t(x.size())}),
                            smx::TensorView<T>(y.data(), {std::int64_t(y.size())}))
                      .ok());
      EXPECT_TRUE(MatchesReference(std::string(SigName(op)) + " " + Elem<T>::kName +
                                       " wide range " + tag(),
                                   y, ReferenceOf(op, x)));
    }
  }

  // Every length through several vectors (the tails), from misaligned starts.
  template <typename T>
  void RunLengths() {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> nd(0, 20);
    for (std::size_t n = 0; n <= 70; ++n) {
      for (std::size_t offset : {0, 1, 3}) {
        std::vector<T> storage(n + offset + 1, T(-7)), out(n + offset + 1, T(123));
        for (std::size_t i = 0; i < n; ++i) storage[offset + i] = static_cast<T>(nd(rng));
        const std::vector<T> x(storage.begin() + offset, storage.begin() + offset + n);
        for (SigOp op : kSigOps) {
          ASSERT_TRUE(RunSig<T>(op, smx::TensorView<const T>(storage.data() + offset, {std::int64_t(n)}),
                                smx::TensorView<T>(out.data() + offset, {std::int64_t(n)}))
                          .ok());
          const std::vector<T> y(out.begin() + offset, out.begin() + offset + n);
          const std::string label = std::string(SigName(op)) + " n=" + std::to_string(n) +
                                    " off=" + std::to_string(offset) + " " + tag();
          EXPECT_TRUE(MatchesReference(label, y, ReferenceOf(op, x))) << label;
          for (std::size_t i = 0; i < offset; ++i) EXPECT_EQ(out[i], T(123)) << label;
          EXPECT_EQ(out[offset + n], T(123)) << label << ": wrote past the end";
        }
      }
    }
  }
};

TEST_P(Sigmoid, GoldenF32) { RunGolden<float>(); }
TEST_P(Sigmoid, GoldenF64) { RunGolden<double>(); }
TEST_P(Sigmoid, WideRangeF32) { RunWideRange<float>(); }
TEST_P(Sigmoid, WideRangeF64) { RunWideRange<double>(); }
TEST_P(Sigmoid, LengthsF32) { RunLengths<float>(); }
TEST_P(Sigmoid, LengthsF64) { RunLengths<double>(); }

// The exact edges the header promises, in both types.
TEST_P(Sigmoid, Edges) {
  auto one = [](SigOp op, double x) {
    double y = 0;
    const smx::Status s = RunSig<double>(op, smx::TensorView<const double>(&x, {1}),
                                         smx::TensorView<double>(&y, {1}));
    EXPECT_TRUE(s.ok()) << s.message();
    return y;
  };
  EXPECT_EQ(one(SigOp::kSigmoid, kInf), 1.0);
  EXPECT_EQ(one(SigOp::kSigmoid, -kInf), 0.0);
  EXPECT_EQ(one(SigOp::kSigmoid, 0.0), 0.5);
  EXPECT_EQ(one(SigOp::kLogSigmoid, kInf), 0.0);
  EXPECT_EQ(one(SigOp::kLogSigmoid, -kInf), -kInf);
  EXPECT_EQ(one(SigOp::kLogSigmoid, -100.0), -100.0);  // not -inf
  EXPECT_EQ(one(SigOp::kSoftplus, kInf), kInf);
  EXPECT_EQ(one(SigOp::kSoftplus, -kInf), 0.0);
  EXPECT_EQ(one(SigOp::kSoftplus, 1000.0), 1000.0);
  const double tiny = one(SigOp::kLogSigmoid, 40.0);  // -exp(-40) = -4.248354255291589e-18
  EXPECT_LT(tiny, 0.0);
  EXPECT_NEAR(tiny / -4.248354255291589e-18, 1.0, 1e-15);
  for (SigOp op : kSigOps) EXPECT_TRUE(std::isnan(one(op, kNaN))) << SigName(op);
  float xf = 40, yf = 0;
  ASSERT_TRUE(smx::log_sigmoid(std::span<const float>(&xf, 1), std::span<float>(&yf, 1)).ok());
  EXPECT_LT(yf, 0.0f);
  EXPECT_GT(yf, -1e-17f);
}

// sigmoid is the 2-class softmax, log_sigmoid its log, softplus the logsumexp of [x, 0]. x is a
// multiple of 2^-20 below 128 in magnitude, so that softmax([x + 8, 8]) sees the difference x
// exactly; each side is within a few ulps of the truth, so they agree within a few ulps.
TEST_P(Sigmoid, TwoClassSoftmax) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> nd(0, 30);
  for (int i = 0; i < 2000; ++i) {
    const double x = std::clamp(std::round(nd(rng) * 0x1p20) * 0x1p-20, -127.0, 127.0);
    const double pair[2] = {x + 8, 8}, zero_pair[2] = {x, 0};
    double p[2], lp[2], lse = 0, s = 0, ls = 0, sp = 0;
    ASSERT_TRUE(smx::softmax(std::span<const double>(pair), std::span<double>(p)).ok());
    ASSERT_TRUE(smx::log_softmax(std::span<const double>(zero_pair), std::span<double>(lp)).ok());
    ASSERT_TRUE(smx::logsumexp(std::span<const double>(zero_pair), lse).ok());
    ASSERT_TRUE(smx::sigmoid(std::span<const double>(&x, 1), std::span<double>(&s, 1)).ok());
    ASSERT_TRUE(smx::log_sigmoid(std::span<const double>(&x, 1), std::span<double>(&ls, 1)).ok());
    ASSERT_TRUE(smx::softplus(std::span<const double>(&x, 1), std::span<double>(&sp, 1)).ok());
    EXPECT_LE(UlpDistance(p[0], s), 4) << "softmax([" << x + 8 << ", 8]) against sigmoid";
    EXPECT_LE(UlpDistance(lp[0], ls), 4) << x;
    EXPECT_LE(UlpDistance(lse, sp), 4) << x;
  }
}

// Strided views, rank 0 and 3, f16/bf16, in place: each against the reference.
TEST_P(Sigmoid, Layouts) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd(0, 10);
  // [6, 5] transposed: x is [5, 6] in memory, viewed with strides {1, 6}.
  std::vector<float> x(30), y(30, -1.0f);
  for (auto& v : x) v = static_cast<float>(nd(rng));
  const std::int64_t shape[2] = {6, 5}, strides[2] = {1, 6};
  for (SigOp op : kSigOps) {
    ASSERT_TRUE(RunSig<float>(op, smx::TensorView<const float>(x.data(), shape, strides),
                              smx::TensorView<float>(y.data(), shape, strides))
                    .ok());
    EXPECT_TRUE(MatchesReference(std::string(SigName(op)) + " strided " + tag(), y,
                                 ReferenceOf(op, x)));
  }
  // Rank 0.
  double s = 2, out = 0;
  ASSERT_TRUE(smx::sigmoid(smx::TensorView<const double>(&s, std::span<const std::int64_t>()),
                           smx::TensorView<double>(&out, std::span<const std::int64_t>()))
                  .ok());
  EXPECT_LE(UlpDistance(out, static_cast<double>(Reference(SigOp::kSigmoid, 2))), 2);
  // Rank 3, in place.
  std::vector<double> z(2 * 3 * 37);
  for (auto& v : z) v = nd(rng);
  const std::vector<ld> want = ReferenceOf(SigOp::kSoftplus, z);
  ASSERT_TRUE(smx::softplus(smx::TensorView<const double>(z.data(), {2, 3, 37}),
                            smx::TensorView<double>(z.data(), {2, 3, 37}))
                  .ok());
  EXPECT_TRUE(MatchesReference("softplus rank 3 in place " + tag(), z, want));
  // f16 and bf16: within 1 ulp of the 16-bit type.
  std::vector<smx::float16> h(100), hy(100);
  std::vector<smx::bfloat16> b(100), by(100);
  for (std::size_t i = 0; i < 100; ++i) {
    h[i] = smx::to_float16(static_cast<float>(nd(rng)));
    b[i] = smx::to_bfloat16(static_cast<float>(nd(rng) * 5));
  }
  for (SigOp op : kSigOps) {
    ASSERT_TRUE(RunSig<smx::float16>(op, smx::TensorView<const smx::float16>(h.data(), {100}),
                                     smx::TensorView<smx::float16>(hy.data(), {100}))
                    .ok());
    EXPECT_TRUE(MatchesReference(std::string(SigName(op)) + " f16 " + tag(), hy,
                                 ReferenceOf(op, h)));
    ASSERT_TRUE(RunSig<smx::bfloat16>(op, smx::TensorView<const smx::bfloat16>(b.data(), {100}),
                                      smx::TensorView<smx::bfloat16>(by.data(), {100}))
                    .ok());
    EXPECT_TRUE(MatchesReference(std::string(SigName(op)) + " bf16 " + tag(), by,
                                 ReferenceOf(op, b)));
  }
}

TEST(SigmoidErrors, BadArgumentsNameTheProblem) {
  float x[4] = {}, y[3] = {};
  double yd[4] = {};
  smx::Status s = smx::sigmoid(std::span<const float>(x, 4), std::span<float>(y, 3));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sigmoid: output shape [3] differs from input shape [4]"),
            std::string::npos)
      << s.message();
  s = smx::softplus(smx::ConstTensorRef(x, smx::DType::kF32, smx::Layout::Contiguous({{4}})),
                    smx::TensorRef{yd, smx::DType::kF64, smx::Layout::Contiguous({{4}})});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("softplus: input is f32 but output is f64"), std::string::npos)
      << s.message();
  s = smx::log_sigmoid(smx::TensorView<const float>(nullptr, {4}), smx::TensorView<float>(y, {4}));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("null"), std::string::npos) << s.message();
  float scalar = 0;
  s = smx::sigmoid(smx::TensorView<const float>(&scalar, std::span<const std::int64_t>()),
                   smx::TensorView<float>(y, {1}));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("output shape [1] differs from input shape []"), std::string::npos)
      << s.message();
  // Empty tensors are fine.
  EXPECT_TRUE(smx::sigmoid(std::span<const float>(), std::span<float>()).ok());
}

TEST(SigmoidThreads, SameBitsForAnyThreadCount) {
  std::mt19937_64 rng(3);
  const std::vector<float> x = WideValues<float>(rng, 1 << 20);
  const int saved = smx::get_num_threads();
  std::vector<float> y1(x.size()), y2(x.size());
  smx::set_num_threads(1);
  ASSERT_TRUE(smx::log_sigmoid(std::span<const float>(x), std::span<float>(y1)).ok());
  smx::set_num_threads(2);
  ASSERT_TRUE(smx::log_sigmoid(std::span<const float>(x), std::span<float>(y2)).ok());
  smx::set_num_threads(saved);
  EXPECT_TRUE(BitwiseEqual("log_sigmoid 1 vs 2 threads", y1.data(), y2.data(), x.size()));
}

SMX_INSTANTIATE_TARGETS(Sigmoid);

}  // namespace
}  // namespace smx_test
