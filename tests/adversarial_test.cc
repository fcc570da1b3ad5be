// Adversarial fills in the style of oneDNN's benchdnn: ties at the top, all-equal rows, logits
// whose exponential overflows while exp(z - max) does not, huge offsets, subnormal inputs, a
// dominant entry, all-negative rows, the mass in the top two or three, and rows that straddle
// the f32/f64 exp underflow. Every element is compared with the long-double reference at the
// contract's tolerance, on every SIMD target, f32 and f64, for softmax, log_softmax and
// logsumexp. A "zero trust" check makes sure a fill is not vacuous: the reference must have at
// least the fill's share of normal probabilities, and the library may not zero any of them.
#include <algorithm>
#include <functional>

#include "smx/runtime.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

struct Fill {
  const char* name;
  // Fills one row of k logits (doubles; rounded to the dtype afterwards). f64 tells the dtype.
  std::function<void(std::mt19937_64&, std::vector<double>&, bool f64)> make;
  std::vector<double> temperatures;  // representable in float32
  double min_nonzero_f32;            // share of the reference softmax that must be non-zero
  double min_nonzero_f64;
};

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
double Normal(std::mt19937_64& rng, double sd) {
  return std::normal_distribution<double>(0.0, sd)(rng);
}

const std::vector<Fill>& Fills() {
  static const std::vector<Fill> fills = {
      {"ties_at_top",
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = Normal(rng, 2);
         const double top = *std::max_element(z.begin(), z.end()) + 1.5;
         for (std::size_t i = 0; i < z.size(); i += 3) z[i] = top;  // a third of the row ties
       },
       {1.0, 0.5, 3.0, 0.0},
       0.3,
       0.3},
      {"all_equal",
       [](auto& rng, auto& z, bool) {
         const double c = Uniform(rng, -50, 50);
         for (auto& v : z) v = c;
       },
       {1.0, 0.5, 3.0, 0.0, kInf},
       1.0,
       1.0},
      {"exp_overflows_100",  // exp(100) > FLT_MAX, exp(z - max) fine
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = 100 + Uniform(rng, -8, 8);
       },
       {1.0, 0.5, 3.0},
       0.99,
       0.99},
      {"exp_overflows_1000_or_800",  // f32: 1000 (f64 fine), f64: 800 > 709.78
       [](auto& rng, auto& z, bool f64) {
         for (auto& v : z) v = (f64 ? 800 : 1000) + Uniform(rng, -8, 8);
       },
       {1.0, 0.5, 3.0},
       0.99,
       0.99},
      {"huge_offset_1e30",  // gaps are whole multiples of ulp(1e30): 2^76 (f32), 2^47 (f64)
       [](auto& rng, auto& z, bool f64) {
         const double step = std::ldexp(1.0, f64 ? 47 : 76);
         for (auto& v : z) v = 1e30 + step * std::round(Uniform(rng, -8, 8));
       },
       // T = 1 and 0: hardmax with ties; T = ulp(1e30) brings the gaps to O(1), where the shift
       // z/T - max/T must be exact; 2^47 for f32 is hardmax again, 2^76 for f64 near-uniform.
       {1.0, 0.0, std::ldexp(1.0, 76), std::ldexp(1.0, 47)},
       0.0,
       0.0},
      {"subnormal",
       [](auto& rng, auto& z, bool f64) {
         for (auto& v : z) v = Normal(rng, 1) * (f64 ? 1e-310 : 1e-40);
         z[0] = 0.0;
       },
       {1.0, 0.5, 3.0, 0.0},
       1.0,
       1.0},
      {"dominant40",
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = Normal(rng, 1);
         z[z.size() / 2] += 40;
       },
       {1.0, 3.0},
       0.99,
       0.99},
      {"dominant120",
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = Normal(rng, 1);
         z[z.size() / 3] += 120;
       },
       {1.0, 3.0},
       0.0,
       0.99},
      // A dominant max at and around the edges where logsumexp stops keeping the max entries
      // apart (m >= 1 or m <= -1 - log K: then |m + log(sum)| >= 1 and the plain sum suffices).
      {"dominant_at_split_edges",
       [](auto& rng, auto& z, bool) {
         const double log_k = std::log(static_cast<double>(z.size()));
         const double edges[] = {1.0, 0.999, 1.001, -0.5, -1 - log_k, -0.99 - log_k, -1.01 - log_k};
         const double m = edges[std::uniform_int_distribution<int>(0, 6)(rng)];
         for (auto& v : z) v = m - 18 + Normal(rng, 1);
         z[z.size() / 2] = m;
       },
       {1.0},
       0.99,
       0.99},
      {"all_negative",
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = -Uniform(rng, 1, 40);
       },
       {1.0, 0.5, 3.0},
       0.99,
       0.99},
      {"all_negative_1000",
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = -1000 + Uniform(rng, -5, 5);
       },
       {1.0, 0.5},
       0.99,
       0.99},
      {"mass_in_top_two",
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = Normal(rng, 1);
         z[0] = 20 + Normal(rng, 0.5);
         z[z.size() - 1] = 20 + Normal(rng, 0.5);
       },
       {1.0, 0.5, 3.0},
       0.99,
       0.99},
      {"mass_in_top_three",
       [](auto& rng, auto& z, bool) {
         for (auto& v : z) v = Normal(rng, 1);
         for (std::size_t i = 1; i < z.size(); i += std::max<std::size_t>(1, z.size() / 3)) {
           z[i] = 15 + Normal(rng, 0.1);
         }
       },
       {1.0, 0.5},
       0.99,
       0.99},
      // A dominant max whose other terms all lie below the fast exponential's range (f32: e^-88
      // and less, subnormal or flushed), while their sum, the max entry's -log_softmax, is a
      // normal f32 from K ~ 100 on: only the precise retake of the row's sum gets it right.
      {"dominant_rest_below_flush",
       [](auto& rng, auto& z, bool f64) {
         const double tops[] = {0.0, 25.0, 70.0, -20.0};  // shifts of 0 and of the max
         const double m = tops[std::uniform_int_distribution<int>(0, 3)(rng)];
         for (auto& v : z) v = m - (f64 ? 700 : 88) - Uniform(rng, 0, 4);
         z[z.size() / 2] = m;
       },
       {1.0},
       0.0,
       0.0},
      {"span_exp_underflow",  // z - max in [-110, 0]: f32 exp normal/subnormal/zero boundary
       [](auto& rng, auto& z, bool f64) {
         const double lo = f64 ? -760 : -110;
         for (auto& v : z) v = Uniform(rng, lo, 0);
         z[0] = 0;
       },
       {1.0},
       0.5,  // expected normal share: 1 - 23/110 (f32), 1 - 52/760 (f64)
       0.75},
  };
  return fills;
}

class Adversarial : public TargetTest {
 protected:
  template <typename T>
  void Run(const Fill& fill) {
    constexpr bool kF64 = std::is_same_v<T, double>;
    const std::size_t lengths[] = {1, 2, 3, 7, 16, 17, 64, 65, 100, 1000, 4097};
    const std::size_t rows = 3;
    for (std::size_t k : lengths) {
      std::mt19937_64 rng(k * 7919 + (kF64 ? 1 : 0));
      std::vector<double> row(k);
      std::vector<T> z;
      for (std::size_t r = 0; r < rows; ++r) {
        fill.make(rng, row, kF64);
        for (double v : row) z.push_back(Elem<T>::Round(v));
      }
      const std::vector<ld> zl = Widen(z);
      for (Op op : kAllOps) {
        for (double t : fill.temperatures) {
          if (op == Op::kLogSumExp && t != fill.temperatures.front()) continue;
          const std::string label = Label(op, Elem<T>::kName, k, rows, t,
                                          std::string(fill.name) + " [" + target_name() + "]");
          std::vector<T> y(OutputSize(op, rows, k));
          const smx::Status s = RunRows(op, z.data(), y.data(), rows, k, t);
          ASSERT_TRUE(s.ok()) << label << ": " << s.message();
          std::vector<ld> err;
          const std::vector<ld> ref = ReferenceRows(op, zl, rows, k, t, &err);
          EXPECT_TRUE(MatchesReference(label, y, ref, Elem<T>::kUlp, &err));
          if (op == Op::kSoftmax && k > 1 && t != 0)
            ZeroTrust(label, y, ref, kF64 ? fill.min_nonzero_f64 : fill.min_nonzero_f32);
          if (op == Op::kLogSoftmax && t == 1.0 && k > 1 &&
              (fill.name == std::string("dominant40") ||
               (kF64 && fill.name == std::string("dominant120")))) {
            // The max entry's log-probability is -log1p(tiny): a tiny normal negative, not 0.
            for (std::size_t r = 0; r < rows; ++r) {
              const std::size_t i =
                  r * k + (fill.name == std::string("dominant40") ? k / 2 : k / 3);
              EXPECT_LT(y[i], T(0)) << label << ": log_softmax of the dominant entry, row " << r;
              EXPECT_GT(y[i], T(-1e-10)) << label;
            }
          }
        }
      }
    }
  }

  // Many rows, row r taking fill r mod (number of fills), with NaN, +inf and fully masked rows
  // among them: consecutive rows disagree on their shift (0 or the max), so the whole-rows kernel,
  // which predicts each row's shift from the rows before it, is wrong often, in both directions,
  // inside a group of rows and across groups; in place too.
  template <typename T>
  void RunMixedRows() {
    constexpr bool kF64 = std::is_same_v<T, double>;
    constexpr ld kNaN = std::numeric_limits<ld>::quiet_NaN();
    const auto& fills = Fills();
    const std::size_t rows = 3 * 16 + 5;
    for (std::size_t k : {1, 7, 100, 1000, 4097}) {
      std::mt19937_64 rng(k * 6151 + (kF64 ? 1 : 0));
      std::vector<double> row(k);
      std::vector<T> z;
      for (std::size_t r = 0; r < rows; ++r) {
        fills[r % fills.size()].make(rng, row, kF64);
        if (r % 7 == 3) row[k / 2] = r % 3 == 0 ? kNaN : r % 3 == 1 ? kInf : row[k / 2];
        if (r % 7 == 3 && r % 3 == 2) std::fill(row.begin(), row.end(), -kInf);
        for (double v : row) z.push_back(Elem<T>::Round(v));
      }
      const std::vector<ld> zl = Widen(z);
      for (Op op : kAllOps) {
        for (double t : {1.0, 0.5}) {
          if (op == Op::kLogSumExp && t != 1.0) continue;
          const std::string label = Label(op, Elem<T>::kName, k, rows, t,
                                          "mixed fills [" + target_name() + "]");
          std::vector<ld> err;
          const std::vector<ld> ref = ReferenceRows(op, zl, rows, k, t, &err);
          std::vector<T> y(OutputSize(op, rows, k));
          ASSERT_TRUE(RunRows(op, z.data(), y.data(), rows, k, t).ok()) << label;
          EXPECT_TRUE(MatchesReference(label, y, ref, Elem<T>::kUlp, &err));
          if (op == Op::kLogSumExp) continue;
          std::vector<T> in_place = z;
          ASSERT_TRUE(RunRows(op, in_place.data(), in_place.data(), rows, k, t).ok()) << label;
          EXPECT_TRUE(MatchesReference(label + " in place", in_place, ref, Elem<T>::kUlp, &err));
        }
      }
    }
  }

  // Rows longer than one chunk (the driver's long-row path, 16384 f32 or 8192 f64 elements a
  // chunk), chunk c of row r taking fill 5r + 3c: the chunks disagree on their shift, so that
  // softmax's one pass over a chunk whose max is not known yet (each chunk of data beyond the
  // caches, x and y over 32 MiB; otherwise a thread's first chunk) is wrong in both directions.
  // 1 and 2 threads (which split a single row's chunks), out of place and in place.
  template <typename T>
  void RunMixedChunks(std::size_t rows, std::size_t k, std::vector<Op> ops) {
    constexpr bool kF64 = std::is_same_v<T, double>;
    const auto& fills = Fills();
    const std::size_t chunk = 65536 / sizeof(T);
    std::mt19937_64 rng(rows * 31 + k + (kF64 ? 1 : 0));
    std::vector<T> z;
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c * chunk < k; ++c) {
        std::vector<double> part(std::min(chunk, k - c * chunk));
        fills[(r * 5 + c * 3) % fills.size()].make(rng, part, kF64);
        for (double v : part) z.push_back(Elem<T>::Round(v));
      }
    }
    const std::vector<ld> zl = Widen(z);
    const int saved_threads = smx::get_num_threads();
    for (Op op : ops) {
      std::vector<ld> err;
      const std::vector<ld> ref = ReferenceRows(op, zl, rows, k, 1.0, &err);
      for (int threads : {1, 2}) {
        smx::set_num_threads(threads);
        const std::string label =
            Label(op, Elem<T>::kName, k, rows, 1.0,
                  "mixed chunks, " + std::to_string(threads) + " threads [" + target_name() + "]");
        std::vector<T> y(OutputSize(op, rows, k));
        ASSERT_TRUE(RunRows(op, z.data(), y.data(), rows, k).ok()) << label;
        EXPECT_TRUE(MatchesReference(label, y, ref, Elem<T>::kUlp, &err));
        if (op == Op::kLogSumExp) continue;
        std::vector<T> in_place = z;
        ASSERT_TRUE(RunRows(op, in_place.data(), in_place.data(), rows, k).ok()) << label;
        EXPECT_TRUE(MatchesReference(label + " in place", in_place, ref, Elem<T>::kUlp, &err));
      }
    }
    smx::set_num_threads(saved_threads);
  }

  // The fills along the middle axis of a [2, K, 35] tensor (the column kernel, vectorised
  // across the 35 columns: two AVX-512 f32 vectors and a remainder). `mixed`: column c takes fill
  // c mod (number of fills), so the lanes of one vector disagree on their shift and exactness;
  // otherwise every column takes `only`.
  template <typename T>
  void RunColumns(bool mixed, const Fill* only) {
    constexpr bool kF64 = std::is_same_v<T, double>;
    constexpr std::int64_t kOuter = 2, kInner = 35;
    const auto& fills = Fills();
    for (std::int64_t k : {1, 7, 100, 1000}) {
      std::mt19937_64 rng(static_cast<std::uint64_t>(k) * 104729 + (kF64 ? 1 : 0));
      std::vector<double> column(static_cast<std::size_t>(k));
      std::vector<T> z(static_cast<std::size_t>(kOuter * k * kInner));
      for (std::int64_t o = 0; o < kOuter; ++o) {
        for (std::int64_t c = 0; c < kInner; ++c) {
          const Fill& fill = mixed ? fills[static_cast<std::size_t>(c) % fills.size()] : *only;
          fill.make(rng, column, kF64);
          for (std::int64_t r = 0; r < k; ++r) {
            z[static_cast<std::size_t>((o * k + r) * kInner + c)] =
                Elem<T>::Round(column[static_cast<std::size_t>(r)]);
          }
        }
      }
      const std::vector<ld> zl = Widen(z);
      const std::int64_t shape[3] = {kOuter, k, kInner};
      const std::int64_t lse_shape[2] = {kOuter, kInner};
      const std::string what = mixed ? std::string("mixed fills") : std::string(only->name);
      for (Op op : kAllOps) {
        for (double t : {1.0, 0.5, 3.0}) {
          if (op == Op::kLogSumExp && t != 1.0) continue;
          const std::string label = Label(op, Elem<T>::kName, static_cast<std::size_t>(k), 70, t,
                                          what + ", axis 1 of [2, K, 35] [" + target_name() + "]");
          std::vector<T> y(op == Op::kLogSumExp ? kOuter * kInner : z.size());
          const smx::TensorView<const T> xv(z.data(), shape);
          const smx::Status s =
              op == Op::kLogSumExp
                  ? RunOp<T>(op, xv, smx::TensorView<T>(y.data(), lse_shape), 1.0, 1)
                  : RunOp<T>(op, xv, smx::TensorView<T>(y.data(), shape), t, 1);
          ASSERT_TRUE(s.ok()) << label << ": " << s.message();
          std::vector<ld> err;
          const std::vector<ld> ref = ReferenceAlongAxis(op, zl, shape, 1, t, &err);
          EXPECT_TRUE(MatchesReference(label, y, ref, Elem<T>::kUlp, &err));
        }
      }
    }
  }

  // benchdnn's zero-trust: the fill must produce enough normal (not subnormal, not zero)
  // probabilities for the test to mean something, and the library must not return 0 for any of
  // them. (A truth below the smallest normal may come out as 0: f32 allows 1e-37 there, and f64
  // 8 ULP, which the element-wise comparison checks.)
  template <typename T>
  void ZeroTrust(const std::string& label, const std::vector<T>& y, const std::vector<ld>& ref,
                 double min_share) {
    std::size_t ref_nonzero = 0, zeroed = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      if (std::fabs(Elem<T>::Round(ref[i])) >= std::numeric_limits<T>::min()) {
        ++ref_nonzero;
        zeroed += (y[i] == T(0));
      }
    }
    EXPECT_GE(static_cast<double>(ref_nonzero), min_share * static_cast<double>(y.size()))
        << label << ": the fill is degenerate (" << ref_nonzero << " of " << y.size()
        << " probabilities normal)";
    EXPECT_EQ(zeroed, 0u) << label << ": the library returned 0 for " << zeroed
                          << " non-zero probabilities";
    EXPECT_GE(ref_nonzero, 1u) << label;
  }
};

TEST_P(Adversarial, F32) {
  for (const Fill& fill : Fills()) Run<float>(fill);
}
TEST_P(Adversarial, F64) {
  for (const Fill& fill : Fills()) Run<double>(fill);
}
TEST_P(Adversarial, MixedRowsF32) { RunMixedRows<float>(); }
TEST_P(Adversarial, MixedRowsF64) { RunMixedRows<double>(); }
TEST_P(Adversarial, MixedChunksF32) {
  RunMixedChunks<float>(2, 3 * 16384 + 100, {std::begin(kAllOps), std::end(kAllOps)});
  RunMixedChunks<float>(210, 20000, {Op::kSoftmax});  // 16.8 MB each of x and y
}
TEST_P(Adversarial, MixedChunksF64) {
  RunMixedChunks<double>(2, 3 * 8192 + 100, {std::begin(kAllOps), std::end(kAllOps)});
  RunMixedChunks<double>(105, 20000, {Op::kSoftmax});
}
TEST_P(Adversarial, ColumnsF32) {
  RunColumns<float>(true, nullptr);
  for (const Fill& fill : Fills()) RunColumns<float>(false, &fill);
}
TEST_P(Adversarial, ColumnsF64) {
  RunColumns<double>(true, nullptr);
  for (const Fill& fill : Fills()) RunColumns<double>(false, &fill);
}
SMX_INSTANTIATE_TARGETS(Adversarial);

}  // namespace
}  // namespace smx_test
