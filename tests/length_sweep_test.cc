// Every row length from 0 to 2*64+3 (past two AVX-512 f32 vectors times the unroll), long rows that
// cross the library's internal chunking, data pointers misaligned by 1..3 elements, 1..5 rows, all
// the temperatures, f32 and f64, softmax, log_softmax and logsumexp, on every SIMD target. Every
// element is compared with the long-double reference at the contract's tolerance (f32 4 ULP or
// 1e-37 below 2^-126, f64 8 ULP), and nothing outside the output may be written.
#include <cstdio>

#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

constexpr double kTemperatures[] = {1.0, 0.5, 3.0, 1e-3, 0.0, kInf};

// As in the golden cases (FORMAT.md, "dtype f32"), an f32 sweep uses temperatures representable in
// float32, so 1e-3 becomes float32(1e-3). That the library divides by the exact double temperature
// for f32 data (the contract) is tested on its own in properties_test.cc.
template <typename T>
double SweepTemperature(double t) {
  return std::is_same_v<T, double> ? t : static_cast<double>(static_cast<float>(t));
}

// One [rows, k] block at one misalignment: every op at every temperature.
// Returns the number of (op, temperature) pairs that failed.
template <typename T>
int CheckBlock(std::size_t k, std::size_t rows, std::size_t offset, std::uint64_t seed,
               const std::string& target) {
  int failed = 0;
  std::mt19937_64 rng(seed);
  const std::vector<T> z = RandomNormal<T>(rng, rows * k, 0.0, 2.0);
  const std::vector<ld> zl = Widen(z);
  for (Op op : kAllOps) {
    for (double t_nominal : kTemperatures) {
      if (op == Op::kLogSumExp && t_nominal != 1.0) continue;  // logsumexp has no temperature
      const double t = SweepTemperature<T>(t_nominal);
      const std::string label = Label(op, Elem<T>::kName, k, rows, t,
                                      "offset=" + std::to_string(offset) + " [" + target + "]");
      const std::size_t n_out = OutputSize(op, rows, k);
      Buffer<T> x(rows * k, offset), y(n_out, offset);
      x.Assign(z);
      const smx::Status s = RunRows(op, x.data(), y.data(), rows, k, t);
      if (!s.ok()) {
        ADD_FAILURE() << label << ": " << s.message();
        ++failed;
        continue;
      }
      EXPECT_TRUE(y.GuardsIntact()) << label << ": wrote outside the output";
      EXPECT_TRUE(x.GuardsIntact()) << label;
      EXPECT_TRUE(BitwiseEqual(label + " (input unchanged)", x.data(), z.data(), z.size()));
      std::vector<ld> err;
      const std::vector<ld> ref = ReferenceRows(op, zl, rows, k, t, &err);
      const auto r =
          MatchesReference(label, y.data(), ref.data(), n_out, Elem<T>::kUlp, err.data());
      EXPECT_TRUE(r);
      failed += !r;
    }
  }
  return failed;
}

// Stops a sweep after this many failing (op, temperature) blocks, to keep the log readable.
constexpr int kMaxReportedFailures = 30;

class LengthSweep : public TargetTest {
 protected:
  template <typename T>
  void ShortRows() {
    int failed = 0;
    for (std::size_t k = 0; k <= 2 * 64 + 3; ++k) {
      for (std::size_t rows = 1; rows <= 5; ++rows) {
        for (std::size_t offset = 0; offset <= 3; ++offset) {
          failed += CheckBlock<T>(k, rows, offset, 1000 * k + 10 * rows + offset, target_name());
          if (failed > kMaxReportedFailures) {
            FAIL() << "stopping the sweep after " << failed << " failing blocks (K=" << k << ")";
          }
        }
      }
    }
  }
  template <typename T>
  void LongRows() {
    int failed = 0;
    const std::size_t lengths[] = {255,  256,  257,   1000,  4097,          8191,
                                   8192, 8193, 16385, 65537, (1u << 20) + 3};
    for (std::size_t k : lengths) {
      const std::size_t rows = k <= 16385 ? 3 : 1;
      failed += CheckBlock<T>(k, rows, k % 4, k, target_name());
    }
    if (failed) std::printf("[%s] long rows: %d failing blocks\n", target_name().c_str(), failed);
  }
};

TEST_P(LengthSweep, ShortRowsF32) { ShortRows<float>(); }
TEST_P(LengthSweep, ShortRowsF64) { ShortRows<double>(); }
TEST_P(LengthSweep, LongRowsF32) { LongRows<float>(); }
TEST_P(LengthSweep, LongRowsF64) { LongRows<double>(); }
SMX_INSTANTIATE_TARGETS(LengthSweep);

}  // namespace
}  // namespace smx_test
