// f16 and bf16 (smx::float16, smx::bfloat16): computed in f32 with f32-or-better sums and rounded
// once, so every result must be within 1 ULP of the 16-bit type of the correctly rounded exact
// result, computed here from the exactly widened inputs. Includes a long row of equal values whose
// sum would stall in a 16-bit accumulator, the contract's special values, and a middle axis.
// Every target.
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

class HalfTypes : public TargetTest {
 protected:
  template <typename H>
  void RandomRows() {
    for (std::size_t k : {1, 2, 3, 7, 16, 17, 33, 64, 65, 100, 1000, 4097}) {
      std::mt19937_64 rng(k + 5);
      const std::vector<H> z = RandomNormal<H>(rng, 3 * k, 0.0, 3.0);
      const std::vector<ld> zl = Widen(z);
      for (Op op : kAllOps) {
        for (double t : {1.0, 0.5, 3.0, 0.0, kInf}) {
          if (op == Op::kLogSumExp && t != 1.0) continue;
          std::vector<H> y(OutputSize(op, 3, k));
          const std::string label = Label(op, Elem<H>::kName, k, 3, t, tag());
          const smx::Status s = RunRows(op, z.data(), y.data(), 3, k, t);
          ASSERT_TRUE(s.ok()) << label << ": " << s.message();
          EXPECT_TRUE(MatchesReference(label, y, ReferenceRows(op, zl, 3, k, t), 1));
        }
      }
    }
  }

  template <typename H>
  void LongEqualRow() {
    // 10000 equal logits: softmax 1/10000 each. A 16-bit running sum stalls at 2048 (f16) or 256
    // (bf16) and would give 1/2048 or 1/256.
    const std::size_t k = 10000;
    for (double v : {0.0, 3.5, -20.0}) {
      const std::vector<H> z(k, FromDouble<H>(v));
      const ld zv = Elem<H>::Widen(z[0]);
      std::vector<H> y(k), ly(k);
      H lse{};
      ASSERT_TRUE(RunRows(Op::kSoftmax, z.data(), y.data(), 1, k).ok());
      ASSERT_TRUE(RunRows(Op::kLogSoftmax, z.data(), ly.data(), 1, k).ok());
      ASSERT_TRUE(RunRows(Op::kLogSumExp, z.data(), &lse, 1, k).ok());
      const std::string label =
          std::string(Elem<H>::kName) + " K=10000 equal to " + std::to_string(v) + " " + tag();
      EXPECT_TRUE(MatchesReference("softmax " + label, y, std::vector<ld>(k, 1.0L / k), 1));
      EXPECT_TRUE(
          MatchesReference("log_softmax " + label, ly, std::vector<ld>(k, -std::log(ld(k))), 1));
      std::int64_t d;
      EXPECT_TRUE(ElementMatches(lse, zv + std::log(ld(k)), 1, 0, &d))
          << "logsumexp " << label << ": " << Describe(lse);
    }
  }

  template <typename H>
  void SpecialRows() {
    const double inf = kInf;
    const std::vector<std::vector<double>> rows = {
        {1, 2, 3, 4, 5, 6, 7},
        {1, kNaN, 3, 4, 5, 6, 7},
        {1, 2, inf, 4, 5, 6, 7},
        {-inf, 2, -inf, 4, 5, 6, -inf},
        {-inf, -inf, -inf, -inf, -inf, -inf, -inf},
        {-0.0, 0.0, -0.0, -1, -2, 60000, 60000},
        {65504, 65504, 65504, 65504, -65504, 0, 1},  // f16 max; bf16 rounds it to 65536
    };
    std::vector<H> z;
    for (const auto& r : rows) {
      for (double v : r) z.push_back(FromDouble<H>(v));
    }
    const std::size_t n = rows.size(), k = rows[0].size();
    const std::vector<ld> zl = Widen(z);
    for (Op op : kAllOps) {
      for (double t : {1.0, 0.5}) {
        if (op == Op::kLogSumExp && t != 1.0) continue;
        std::vector<H> y(OutputSize(op, n, k));
        ASSERT_TRUE(RunRows(op, z.data(), y.data(), n, k, t).ok());
        EXPECT_TRUE(MatchesReference(Label(op, Elem<H>::kName, k, n, t, "special rows " + tag()), y,
                                     ReferenceRows(op, zl, n, k, t), 1));
      }
    }
  }

  template <typename H>
  void MiddleAxis() {
    const std::int64_t shape[3] = {8, 100, 8};
    const std::int64_t out_shape[2] = {8, 8};
    std::mt19937_64 rng(99);
    const std::vector<H> z = RandomNormal<H>(rng, 8 * 100 * 8, 0.0, 2.0);
    const std::vector<ld> zl = Widen(z);
    for (Op op : kAllOps) {
      std::vector<H> y(op == Op::kLogSumExp ? 64 : z.size());
      const smx::TensorView<const H> xv(z.data(), shape);
      const smx::Status s = op == Op::kLogSumExp
                                ? RunOp<H>(op, xv, smx::TensorView<H>(y.data(), out_shape), 1.0, 1)
                                : RunOp<H>(op, xv, smx::TensorView<H>(y.data(), shape), 1.0, 1);
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_TRUE(MatchesReference(
          std::string(OpName(op)) + " " + Elem<H>::kName + " [8,100,8] axis 1 " + tag(), y,
          ReferenceAlongAxis(op, zl, shape, 1, 1.0), 1));
    }
  }
};

TEST_P(HalfTypes, RandomRowsF16) { RandomRows<smx::float16>(); }
TEST_P(HalfTypes, RandomRowsBF16) { RandomRows<smx::bfloat16>(); }
TEST_P(HalfTypes, LongEqualRowF16) { LongEqualRow<smx::float16>(); }
TEST_P(HalfTypes, LongEqualRowBF16) { LongEqualRow<smx::bfloat16>(); }
TEST_P(HalfTypes, SpecialRowsF16) { SpecialRows<smx::float16>(); }
TEST_P(HalfTypes, SpecialRowsBF16) { SpecialRows<smx::bfloat16>(); }
TEST_P(HalfTypes, MiddleAxisF16) { MiddleAxis<smx::float16>(); }
TEST_P(HalfTypes, MiddleAxisBF16) { MiddleAxis<smx::bfloat16>(); }
SMX_INSTANTIATE_TARGETS(HalfTypes);

}  // namespace
}  // namespace smx_test
