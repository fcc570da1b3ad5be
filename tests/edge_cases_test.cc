// The contract's special values, each in the middle row of a 3-row tensor: NaN (with and without
// +-inf), +inf, -inf beside finite values, a fully masked row, a single finite entry, -0.0, K = 1
// and K = 0. The outer rows are ordinary and must come out exactly as when the middle row is
// ordinary too (rows never affect each other). Every target, f32 and f64, all three ops.
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

struct SpecialRow {
  const char* name;
  std::vector<double> (*make)(std::size_t k);
  std::vector<double> temperatures;
};

std::vector<double> Ordinary(std::size_t k, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 2.0);
  std::vector<double> v(k);
  for (auto& x : v) x = g(rng);
  return v;
}

const std::vector<SpecialRow>& SpecialRows() {
  static const std::vector<SpecialRow> rows = {
      {"nan_first",
       [](std::size_t k) {
         auto v = Ordinary(k, 1);
         v[0] = kNaN;
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"nan_last",
       [](std::size_t k) {
         auto v = Ordinary(k, 2);
         v[k - 1] = kNaN;
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"nan_and_posinf",
       [](std::size_t k) {
         auto v = Ordinary(k, 3);
         v[k / 2] = kNaN;
         v[0] = kInf;
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"nan_and_neginf",
       [](std::size_t k) {
         auto v = Ordinary(k, 4);
         v[k - 1] = kNaN;
         v[0] = -kInf;
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"all_nan", [](std::size_t k) { return std::vector<double>(k, kNaN); }, {1.0, 0.0}},
      {"posinf",
       [](std::size_t k) {
         auto v = Ordinary(k, 5);
         v[k / 2] = kInf;
         return v;
       },
       {1.0, 0.5}},
      {"posinf_twice",
       [](std::size_t k) {
         auto v = Ordinary(k, 6);
         v[0] = kInf;
         v[k - 1] = kInf;
         return v;
       },
       {1.0, 0.5}},
      {"posinf_and_neginf",
       [](std::size_t k) {
         auto v = Ordinary(k, 7);
         v[k - 1] = kInf;
         v[0] = -kInf;
         return v;
       },
       {1.0, 0.5}},
      {"neginf_mixed",
       [](std::size_t k) {
         auto v = Ordinary(k, 8);
         for (std::size_t i = 0; i < k; i += 3) v[i] = -kInf;
         v[k > 1 ? 1 : 0] = 0.5;  // at least one finite entry
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      // Rows far from 0 take the shift by the max with its residual, whose value for a -inf
      // entry is NaN: it must not reach the result (AVX-512 clamps such lanes instead of
      // flushing them).
      {"neginf_mixed_far_below_zero",
       [](std::size_t k) {
         auto v = Ordinary(k, 10);
         for (double& x : v) x -= 1000;
         for (std::size_t i = 0; i < k; i += 3) v[i] = -kInf;
         v[k > 1 ? 1 : 0] = -999.5;  // at least one finite entry
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"neginf_mixed_far_above_zero",
       [](std::size_t k) {
         auto v = Ordinary(k, 11);
         for (double& x : v) x += 200;
         for (std::size_t i = 0; i < k; i += 3) v[i] = -kInf;
         v[k > 1 ? 1 : 0] = 200.5;
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"one_finite_rest_neginf",
       [](std::size_t k) {
         std::vector<double> v(k, -kInf);
         v[k / 2] = -3.25;
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"all_neginf", [](std::size_t k) { return std::vector<double>(k, -kInf); }, {1.0, 0.5}},
      {"negative_zeros",
       [](std::size_t k) {
         auto v = Ordinary(k, 9);
         for (std::size_t i = 0; i < k; ++i) v[i] = (i % 2) ? -0.0 : 0.0;
         if (k > 2) v[2] = -1.0;
         return v;
       },
       {1.0, 0.5, 0.0, kInf}},
      {"all_negative_zero",
       [](std::size_t k) { return std::vector<double>(k, -0.0); },
       {1.0, 0.0, kInf}},
  };
  return rows;
}

class EdgeCases : public TargetTest {
 protected:
  template <typename T>
  void RunSpecialRows() {
    // 32805: rows of several chunks (f32: 3, f64: 5) with the special values past the first, where
    // a chunk's max comes from the previous chunk's exp pass.
    for (std::size_t k : {1, 2, 5, 37, 130, 2 * 16384 + 37}) {
      for (const SpecialRow& special : SpecialRows()) {
        const std::vector<double> a = Ordinary(k, 100 + k), b = Ordinary(k, 200 + k);
        const std::vector<double> mid = special.make(k);
        std::vector<T> z, plain;  // plain: the same outer rows around an ordinary middle row
        for (const auto* row : {&a, &mid, &b}) {
          for (double v : *row) z.push_back(Elem<T>::Round(v));
        }
        for (const auto* row : {&a, &a, &b}) {
          for (double v : *row) plain.push_back(Elem<T>::Round(v));
        }
        const std::vector<ld> zl = Widen(z);
        for (Op op : kAllOps) {
          for (double t : special.temperatures) {
            if (op == Op::kLogSumExp && t != special.temperatures.front()) continue;
            const std::string label =
                Label(op, Elem<T>::kName, k, 3, t,
                      std::string(special.name) + " in row 1 [" + target_name() + "]");
            const std::size_t n_out = OutputSize(op, 3, k);
            std::vector<T> y(n_out), y_plain(n_out);
            smx::Status s = RunRows(op, z.data(), y.data(), 3, k, t);
            ASSERT_TRUE(s.ok()) << label << ": " << s.message();
            s = RunRows(op, plain.data(), y_plain.data(), 3, k, t);
            ASSERT_TRUE(s.ok()) << label << ": " << s.message();
            const std::vector<ld> ref = ReferenceRows(op, zl, 3, k, t);
            EXPECT_TRUE(MatchesReference(label, y, ref));
            // Rows 0 and 2 bitwise as with an ordinary middle row.
            const std::size_t w = n_out / 3;
            EXPECT_TRUE(BitwiseEqual(label + ", row 0 vs ordinary neighbours", y.data(),
                                     y_plain.data(), w));
            EXPECT_TRUE(BitwiseEqual(label + ", row 2 vs ordinary neighbours", y.data() + 2 * w,
                                     y_plain.data() + 2 * w, w));
          }
        }
      }
    }
  }

  // A row longer than the library's chunks (64 KiB) whose first chunks are entirely -inf: those
  // chunks have no finite max and skip the exp pass, so their output must not depend on anything
  // that pass writes (the log ops copy x into y there). Out of place and in place.
  template <typename T>
  void RunMaskedLongRow() {
    constexpr std::size_t k = 3 * 65536 / sizeof(T) + 77;
    std::vector<double> v = Ordinary(k, 300);
    for (std::size_t i = 0; i < 2 * 65536 / sizeof(T) + 5; ++i) v[i] = -kInf;
    std::vector<T> z;
    for (double e : v) z.push_back(Elem<T>::Round(e));
    const std::vector<ld> zl = Widen(z);
    for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
      for (double t : {1.0, 0.5}) {
        const std::string label =
            Label(op, Elem<T>::kName, k, 1, t, "masked chunks [" + target_name() + "]");
        const std::vector<ld> ref = ReferenceRows(op, zl, 1, k, t);
        std::vector<T> y(k, T(7));
        ASSERT_TRUE(RunRows(op, z.data(), y.data(), 1, k, t).ok()) << label;
        EXPECT_TRUE(MatchesReference(label, y, ref));
        std::vector<T> in_place = z;
        ASSERT_TRUE(RunRows(op, in_place.data(), in_place.data(), 1, k, t).ok()) << label;
        EXPECT_TRUE(MatchesReference(label + " in place", in_place, ref));
      }
    }
  }

  template <typename T>
  void RunEmptyRows() {
    // K = 0: softmax and log_softmax write nothing; logsumexp is -inf for every row.
    Buffer<T> x(0), y(0);
    for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
      for (double t : {1.0, 0.0, kInf}) {
        EXPECT_TRUE(RunRows(op, x.data(), y.data(), 3, 0, t).ok()) << OpName(op);
        EXPECT_TRUE(y.GuardsIntact()) << OpName(op) << ": wrote into an empty output";
      }
      // A null pointer is fine when there is nothing to read.
      EXPECT_TRUE(RunRows<T>(op, nullptr, nullptr, 3, 0).ok()) << OpName(op) << " null, K = 0";
    }
    Buffer<T> lse(3);
    ASSERT_TRUE(RunRows(Op::kLogSumExp, x.data(), lse.data(), 3, 0).ok());
    for (std::size_t r = 0; r < 3; ++r) {
      EXPECT_EQ(lse[r], -std::numeric_limits<T>::infinity()) << "logsumexp row " << r << ", K = 0";
    }
    EXPECT_TRUE(lse.GuardsIntact());
    // The span overload: an empty row.
    T out = T(7);
    ASSERT_TRUE(smx::logsumexp(std::span<const T>(), out).ok());
    EXPECT_EQ(out, -std::numeric_limits<T>::infinity());
    // Zero rows: nothing to do, nothing written.
    Buffer<T> none(0);
    EXPECT_TRUE(RunRows(Op::kSoftmax, x.data(), none.data(), 0, 5).ok());
    EXPECT_TRUE(RunRows(Op::kLogSumExp, x.data(), none.data(), 0, 5).ok());
    EXPECT_TRUE(none.GuardsIntact());
  }

  template <typename T>
  void RunSingleEntries() {
    // K = 1: softmax 1, log_softmax 0, logsumexp z, at every temperature, for any finite z.
    const T values[] = {T(0),
                        T(-0.0),
                        T(1),
                        T(-1e30),
                        T(1e30),
                        std::numeric_limits<T>::min(),
                        std::numeric_limits<T>::denorm_min(),
                        std::numeric_limits<T>::max(),
                        std::numeric_limits<T>::lowest()};
    for (T v : values) {
      for (double t : {1.0, 0.5, 1e-3, 0.0, kInf}) {
        T p = T(-1), lp = T(-1);
        ASSERT_TRUE(
            smx::softmax(std::span<const T>(&v, 1), std::span<T>(&p, 1), {.temperature = t}).ok());
        ASSERT_TRUE(
            smx::log_softmax(std::span<const T>(&v, 1), std::span<T>(&lp, 1), {.temperature = t})
                .ok());
        EXPECT_EQ(p, T(1)) << "softmax([" << v << "]) at T=" << t << " [" << target_name() << "]";
        EXPECT_EQ(lp, T(0)) << "log_softmax([" << v << "]) at T=" << t << " [" << target_name()
                            << "]";
      }
      T lse = T(-1);
      ASSERT_TRUE(smx::logsumexp(std::span<const T>(&v, 1), lse).ok());
      EXPECT_EQ(lse, v) << "logsumexp([" << v << "]) [" << target_name() << "]";
    }
  }
};

TEST_P(EdgeCases, SpecialRowsF32) { RunSpecialRows<float>(); }
TEST_P(EdgeCases, SpecialRowsF64) { RunSpecialRows<double>(); }
TEST_P(EdgeCases, MaskedLongRowF32) { RunMaskedLongRow<float>(); }
TEST_P(EdgeCases, MaskedLongRowF64) { RunMaskedLongRow<double>(); }
TEST_P(EdgeCases, EmptyRowsF32) { RunEmptyRows<float>(); }
TEST_P(EdgeCases, EmptyRowsF64) { RunEmptyRows<double>(); }
TEST_P(EdgeCases, SingleEntryF32) { RunSingleEntries<float>(); }
TEST_P(EdgeCases, SingleEntryF64) { RunSingleEntries<double>(); }
SMX_INSTANTIATE_TARGETS(EdgeCases);

}  // namespace
}  // namespace smx_test
