// The softmax calculus (smx/calculus.h): the golden cases of softmax_jacobian, softmax_vjp and
// log_softmax_vjp; the Jacobian against finite differences and its properties (symmetric, rows
// and columns summing to 0, positive semi-definite, null vector 1); the backward passes and the
// JVP against a long-double reference and against J; temperature, axes, strides, in place, the
// 16-bit types, errors and threads; on every SIMD target.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "golden.h"
#include "smx/calculus.h"
#include "smx/runtime.h"
#include "smx/softmax.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

std::int64_t Size(std::size_t n) { return static_cast<std::int64_t>(n); }

// Long-double references from the (rounded) forward output the library is given.
std::vector<ld> SoftmaxBackwardRef(const std::vector<ld>& g, const std::vector<ld>& y,
                                   std::size_t rows, std::size_t k, ld t) {
  std::vector<ld> dz(g.size());
  for (std::size_t r = 0; r < rows; ++r) {
    ld s = 0;
    for (std::size_t i = 0; i < k; ++i) s += g[r * k + i] * y[r * k + i];
    for (std::size_t i = 0; i < k; ++i) dz[r * k + i] = y[r * k + i] * (g[r * k + i] - s) / t;
  }
  return dz;
}
std::vector<ld> LogSoftmaxBackwardRef(const std::vector<ld>& g, const std::vector<ld>& out,
                                      std::size_t rows, std::size_t k, ld t) {
  std::vector<ld> dz(g.size());
  for (std::size_t r = 0; r < rows; ++r) {
    ld s = 0;
    for (std::size_t i = 0; i < k; ++i) s += g[r * k + i];
    for (std::size_t i = 0; i < k; ++i) {
      dz[r * k + i] = (g[r * k + i] - std::exp(out[r * k + i]) * s) / t;
    }
  }
  return dz;
}

class Calculus : public TargetTest {
 protected:
  template <typename T>
  void RunGolden() {
    const GoldenFile& gf = Golden();
    ASSERT_TRUE(gf.error.empty()) << gf.error;
    std::size_t run = 0;
    for (const auto& c : gf.tensor_cases) {
      if (c.dtype != Elem<T>::kName) continue;
      if (c.op != "entropy" && c.op != "softmax_jacobian" && c.op != "softmax_vjp" &&
          c.op != "log_softmax_vjp") {
        continue;  // the losses: losses_test.cc
      }
      const std::string label = c.id + " " + tag();
      ASSERT_EQ(c.tol_kind, "rel") << c.id;
      const GoldenTensor& z = c.inputs.at("z");
      std::vector<T> zt = Cast<T>(z.data);
      if (c.op == "entropy") {
        const GoldenTensor& want = c.expected.at("out");
        std::vector<T> h(want.data.size());
        ASSERT_TRUE(smx::entropy(smx::TensorView<const T>(zt.data(), z.shape),
                                 smx::TensorView<T>(h.data(), want.shape),
                                 {.temperature = c.params.at("T")})
                        .ok())
            << label;
        EXPECT_TRUE(MatchesRel(label, h, {want.data.begin(), want.data.end()}, c.tol_value,
                               c.tol_abs));
      } else if (c.op == "softmax_jacobian") {
        const GoldenTensor& want = c.expected.at("J");
        std::vector<T> jac(want.data.size());
        ASSERT_TRUE(smx::softmax_jacobian(smx::TensorView<const T>(zt.data(), z.shape),
                                          smx::TensorView<T>(jac.data(), want.shape))
                        .ok())
            << label;
        EXPECT_TRUE(MatchesRel(label, jac, {want.data.begin(), want.data.end()}, c.tol_value,
                               c.tol_abs));
      } else {
        const GoldenTensor& g = c.inputs.at("g");
        const GoldenTensor& want = c.expected.at("dz");
        const std::vector<T> gt = Cast<T>(g.data);
        std::vector<T> fwd(zt.size()), dz(zt.size());
        const smx::TensorView<const T> zv(zt.data(), z.shape), gv(gt.data(), g.shape);
        const smx::TensorView<T> fv(fwd.data(), z.shape), dv(dz.data(), z.shape);
        if (c.op == "softmax_vjp") {
          ASSERT_TRUE(smx::softmax(zv, fv).ok()) << label;
          ASSERT_TRUE(smx::softmax_backward(gv, smx::TensorView<const T>(fv), dv).ok()) << label;
        } else {
          ASSERT_TRUE(smx::log_softmax(zv, fv).ok()) << label;
          ASSERT_TRUE(smx::log_softmax_backward(gv, smx::TensorView<const T>(fv), dv).ok())
              << label;
        }
        EXPECT_TRUE(MatchesRel(label, dz, {want.data.begin(), want.data.end()}, c.tol_value,
                               c.tol_abs));
      }
      ++run;
    }
    EXPECT_GE(run, 10u) << "golden calculus and entropy cases in " << Elem<T>::kName;
  }

  // The backward passes and the JVP against the long-double reference, over lengths that cross
  // the vector and staging boundaries, at two temperatures, in place too.
  template <typename T>
  void RunBackwardSweep() {
    constexpr bool kF64 = std::is_same_v<T, double>;
    const double rel = kF64 ? 1e-13 : 1e-6;
    std::mt19937_64 rng(kF64 ? 21 : 20);
    std::normal_distribution<double> nd(0, 3);
    // 20001: rows longer than L1 holds beside the others.
    for (std::size_t k : {1, 2, 3, 7, 8, 9, 17, 64, 100, 1025, 3000, 20001}) {
      const std::size_t rows = 3;
      std::vector<T> z(rows * k), g(rows * k);
      for (auto& v : z) v = static_cast<T>(nd(rng));
      for (auto& v : g) v = static_cast<T>(nd(rng));
      for (double t : {1.0, 0.7}) {
        const std::int64_t shape[2] = {Size(rows), Size(k)};
        std::vector<T> y(z.size()), out(z.size()), dz(z.size());
        ASSERT_TRUE(smx::softmax(smx::TensorView<const T>(z.data(), shape),
                                 smx::TensorView<T>(y.data(), shape), {.temperature = t})
                        .ok());
        ASSERT_TRUE(smx::log_softmax(smx::TensorView<const T>(z.data(), shape),
                                     smx::TensorView<T>(out.data(), shape), {.temperature = t})
                        .ok());
        const std::string label = std::string(Elem<T>::kName) + " K=" + std::to_string(k) +
                                  " T=" + std::to_string(t) + " " + tag();
        // An absolute floor at the scale of the row's terms (|g| ~ 3, y <= 1).
        const double abs = kF64 ? 1e-15 : 1e-7;
        const smx::TensorView<const T> gv(g.data(), shape), yv(y.data(), shape),
            ov(out.data(), shape);
        ASSERT_TRUE(smx::softmax_backward(gv, yv, smx::TensorView<T>(dz.data(), shape),
                                          {.temperature = t})
                        .ok());
        const auto want = SoftmaxBackwardRef(Widen(g), Widen(y), rows, k, t);
        EXPECT_TRUE(MatchesRel("softmax_backward " + label, dz, want, rel, abs));
        ASSERT_TRUE(smx::softmax_jvp(smx::ConstTensorRef(yv.ref()), smx::ConstTensorRef(gv.ref()),
                                     smx::TensorView<T>(dz.data(), shape).ref(),
                                     {.temperature = t})
                        .ok());
        EXPECT_TRUE(MatchesRel("softmax_jvp " + label, dz, want, rel, abs));
        std::vector<T> in_place = g;
        ASSERT_TRUE(smx::softmax_backward(smx::TensorView<const T>(in_place.data(), shape), yv,
                                          smx::TensorView<T>(in_place.data(), shape),
                                          {.temperature = t})
                        .ok());
        EXPECT_TRUE(MatchesRel("softmax_backward in place " + label, in_place, want, rel, abs));
        ASSERT_TRUE(smx::log_softmax_backward(gv, ov, smx::TensorView<T>(dz.data(), shape),
                                              {.temperature = t})
                        .ok());
        EXPECT_TRUE(MatchesRel("log_softmax_backward " + label, dz,
                               LogSoftmaxBackwardRef(Widen(g), Widen(out), rows, k, t), rel, abs));
      }
    }
  }

  // Rows that start at their own stride in each array (views of wider buffers): each row is
  // contiguous, so the driver hands the block to the rows kernels, which must follow each
  // array's stride and leave dz's padding alone.
  template <typename T>
  void RunPaddedRows() {
    std::mt19937_64 rng(23);
    std::normal_distribution<double> nd(0, 3);
    for (std::size_t k : {1, 9, 130}) {
      const std::size_t rows = 5, gs = k + 3, ys = k + 5, ds = k + 1;
      std::vector<T> z(rows * k), y(rows * k), out(rows * k), gp(rows * gs), yp(rows * ys),
          op(rows * ys);
      for (auto& v : z) v = static_cast<T>(nd(rng));
      for (auto& v : gp) v = static_cast<T>(nd(rng));
      const std::int64_t shape[2] = {Size(rows), Size(k)};
      ASSERT_TRUE(smx::softmax(smx::TensorView<const T>(z.data(), shape),
                               smx::TensorView<T>(y.data(), shape))
                      .ok());
      ASSERT_TRUE(smx::log_softmax(smx::TensorView<const T>(z.data(), shape),
                                   smx::TensorView<T>(out.data(), shape))
                      .ok());
      std::vector<T> g(rows * k);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t i = 0; i < k; ++i) {
          yp[r * ys + i] = y[r * k + i];
          op[r * ys + i] = out[r * k + i];
          g[r * k + i] = gp[r * gs + i];
        }
      }
      const std::int64_t g_strides[2] = {Size(gs), 1}, y_strides[2] = {Size(ys), 1},
                         d_strides[2] = {Size(ds), 1};
      const smx::TensorView<const T> gv(gp.data(), shape, g_strides),
          yv(yp.data(), shape, y_strides), ov(op.data(), shape, y_strides);
      const double rel = std::is_same_v<T, double> ? 1e-13 : 1e-6;
      const double abs = std::is_same_v<T, double> ? 1e-15 : 1e-7;
      for (bool log : {false, true}) {
        const T pad = static_cast<T>(-7.5);
        std::vector<T> dp(rows * ds, pad), dz(rows * k);
        const smx::TensorView<T> dv(dp.data(), shape, d_strides);
        ASSERT_TRUE(
            (log ? smx::log_softmax_backward(gv, ov, dv) : smx::softmax_backward(gv, yv, dv)).ok());
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t i = 0; i < k; ++i) dz[r * k + i] = dp[r * ds + i];
          EXPECT_EQ(dp[r * ds + k], pad) << "padding after row " << r;
        }
        const auto want = log ? LogSoftmaxBackwardRef(Widen(g), Widen(out), rows, k, 1)
                              : SoftmaxBackwardRef(Widen(g), Widen(y), rows, k, 1);
        EXPECT_TRUE(MatchesRel(std::string(log ? "log_softmax_backward" : "softmax_backward") +
                                   " padded rows K=" + std::to_string(k) + " " + tag(),
                               dz, want, rel, abs));
      }
    }
  }
};

TEST_P(Calculus, GoldenF32) { RunGolden<float>(); }
TEST_P(Calculus, GoldenF64) { RunGolden<double>(); }
TEST_P(Calculus, BackwardSweepF32) { RunBackwardSweep<float>(); }
TEST_P(Calculus, BackwardSweepF64) { RunBackwardSweep<double>(); }
TEST_P(Calculus, PaddedRowsF32) { RunPaddedRows<float>(); }
TEST_P(Calculus, PaddedRowsF64) { RunPaddedRows<double>(); }

// y, g and dz together beyond the caches (over 32 MiB), or past 20 MiB on one thread, where f32
// dz goes out with streaming stores: long rows of odd length (each starting at another alignment)
// with dz one element past a 64-byte line; rows of 1000 (4 KiB, streamed with their shared end
// lines written apart) four elements past a line; rows of 128 on whole lines; 25 MB of rows of
// 131075 on one thread. A guard element on each side, and in place over g.
TEST_P(Calculus, LargeBackwardStreams) {
  struct Case {
    std::size_t rows, k, offset;  // offset: dz's elements past a 64-byte line
    int threads;                  // 0: as set
  };
  const int saved_threads = smx::get_num_threads();
  for (const Case c : {Case{161, 20003, 1, 0}, Case{2800, 1000, 4, 0}, Case{21846, 128, 0, 0},
                       Case{16, 131075, 3, 1}}) {
    smx::set_num_threads(c.threads != 0 ? c.threads : saved_threads);
    std::mt19937_64 rng(31);
    const std::size_t rows = c.rows, k = c.k;
    const std::vector<float> z = RandomNormal<float>(rng, rows * k, 0.0, 3.0);
    const std::vector<float> g = RandomNormal<float>(rng, rows * k, 0.0, 1.0);
    const std::int64_t shape[2] = {Size(rows), Size(k)};
    std::vector<float> y(rows * k);
    ASSERT_TRUE(smx::softmax(smx::TensorView<const float>(z.data(), shape),
                             smx::TensorView<float>(y.data(), shape))
                    .ok());
    const std::vector<ld> want = SoftmaxBackwardRef(Widen(g), Widen(y), rows, k, 1);
    constexpr float kGuard = -12345.0f;
    std::vector<float> storage(rows * k + 2 + 2 * 64 / sizeof(float), kGuard);
    // dz at `offset` past the first line boundary that leaves room for the guard before it.
    const auto base = reinterpret_cast<std::uintptr_t>(storage.data() + 1);
    float* dz = reinterpret_cast<float*>((base + 63) / 64 * 64) + c.offset;
    float* const before = dz - 1;
    const std::string label = "softmax_backward K=" + std::to_string(k) + " " + tag();
    for (const bool in_place : {false, true}) {
      if (in_place) std::copy(g.begin(), g.end(), dz);
      const smx::TensorView<const float> gv(in_place ? dz : g.data(), shape), yv(y.data(), shape);
      ASSERT_TRUE(smx::softmax_backward(gv, yv, smx::TensorView<float>(dz, shape)).ok());
      EXPECT_EQ(*before, kGuard) << label << ": wrote before dz";
      EXPECT_EQ(dz[rows * k], kGuard) << label << ": wrote past dz";
      const std::vector<float> got(dz, dz + rows * k);
      EXPECT_TRUE(MatchesRel(label + (in_place ? ", in place" : ""), got, want, 1e-5, 1e-7));
    }
  }
  smx::set_num_threads(saved_threads);
}

// g_i = 1024 + d_i with tiny d_i: dz_i = y_i (d_i - sum_j d_j y_j) is a small difference of large
// terms, which an uncompensated f64 dot product gets wrong in its 7th digit. The data are exact
// dyadics (y_i = m_i 2^-20 summing to exactly 1, d_i = k_i 2^-40), so that the reference below is
// exact in long double.
// The f32 pass runs in f32 lanes with <g, y> carried as two floats: where every g_i is within
// ulps of <g, y>, dz keeps its digits (rounding <g, y> to one float would leave none).
TEST_P(Calculus, BackwardCancellingF32) {
  std::mt19937_64 rng(13);
  const std::size_t k = 777;
  std::uniform_int_distribution<int> weight(1, 2000), tiny(-(1 << 9), 1 << 9);
  std::vector<float> y(k), d(k), g(k), dz(k);
  std::int64_t total = 0;
  for (std::size_t i = 0; i + 1 < k; ++i) {
    const std::int64_t m = weight(rng);
    y[i] = std::ldexp(static_cast<float>(m), -21);
    total += m;
  }
  ASSERT_LT(total, 1 << 21);
  y[k - 1] = std::ldexp(static_cast<float>((1 << 21) - total), -21);  // sum(y) == 1 exactly
  for (std::size_t i = 0; i < k; ++i) {
    d[i] = std::ldexp(static_cast<float>(tiny(rng)), -13);  // ulps of 1024
    g[i] = 1024 + d[i];                                     // exact
  }
  const std::int64_t shape[1] = {Size(k)};
  ASSERT_TRUE(smx::softmax_backward(smx::TensorView<const float>(g.data(), shape),
                                    smx::TensorView<const float>(y.data(), shape),
                                    smx::TensorView<float>(dz.data(), shape))
                  .ok());
  long double dy = 0;  // sum_j d_j y_j, exact
  for (std::size_t j = 0; j < k; ++j) dy += static_cast<long double>(d[j]) * y[j];
  std::vector<ld> want(k);
  for (std::size_t i = 0; i < k; ++i) want[i] = y[i] * (d[i] - dy);
  EXPECT_TRUE(MatchesRel("softmax_backward f32, cancelling " + tag(), dz, want, 1e-6, 1e-30));
}

// f32 log_softmax_backward runs in f32 lanes where that holds to 3 ulp and redoes the other
// vectors in f64 lanes (cancellation, out outside [-87, 0], NaN): every element within 3 ulp of
// the exact dz of the given inputs plus |exp(out) sum(g)| 2^-50 (exp(out) itself rounds in f64:
// where dz = g - exp(out) sum(g) cancels, as at the target of a confident row under NLL, that is
// what is left), out of place and in place over g and over out, on random g (~1 vector in 7
// redone), NLL's g (-1/N at the target, 0 elsewhere: the zeros sit on the check's boundary) and
// outs beyond the range.
TEST_P(Calculus, LogSoftmaxBackwardF32Within3Ulp) {
  std::mt19937_64 rng(41);
  std::normal_distribution<float> nd(0, 1);
  for (const std::size_t k : {1, 7, 16, 17, 100, 1000, 1029}) {
    const std::size_t rows = 9;
    std::vector<float> z(rows * k), g(rows * k), out(rows * k);
    for (auto& v : z) v = 3 * nd(rng);
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t t = r % k;
      if (r % 3 == 1) z[r * k + t] = 30;  // confident: exp(out_t) = 1 - tiny
      for (std::size_t i = 0; i < k; ++i) {
        g[r * k + i] = r % 3 == 0 ? nd(rng) : (i == t ? -1.0f / rows : 0.0f);
      }
    }
    const std::int64_t shape[2] = {Size(rows), Size(k)};
    ASSERT_TRUE(smx::log_softmax(smx::TensorView<const float>(z.data(), shape),
                                 smx::TensorView<float>(out.data(), shape))
                    .ok());
    if (k >= 16) {  // beyond the f32 lanes' range: not log_softmax outputs, but valid inputs
      out[5] = -100;
      out[k + 3] = 2.5f;
      out[2 * k + 8] = -87.5f;
    }
    const std::vector<ld> want = LogSoftmaxBackwardRef(Widen(g), Widen(out), rows, k, 1);
    for (const int mode : {0, 1, 2}) {  // out of place, in place over g, in place over out
      std::vector<float> gi = g, oi = out, dz(rows * k, -7.0f);
      float* dst = mode == 1 ? gi.data() : mode == 2 ? oi.data() : dz.data();
      ASSERT_TRUE(smx::log_softmax_backward(smx::TensorView<const float>(gi.data(), shape),
                                            smx::TensorView<const float>(oi.data(), shape),
                                            smx::TensorView<float>(dst, shape))
                      .ok());
      ld worst = 0;  // the error over its allowance
      std::size_t worst_at = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        ld sum_g = 0;
        for (std::size_t i = 0; i < k; ++i) sum_g += g[r * k + i];
        for (std::size_t i = r * k; i < (r + 1) * k; ++i) {
          const float nearest = static_cast<float>(want[i]);
          const ld ulp = std::max<ld>(
              std::nextafter(std::fabs(nearest), INFINITY) - std::fabs(nearest), 0x1p-149L);
          const ld allowed =
              3 * ulp + std::fabs(std::exp(static_cast<ld>(out[i])) * sum_g) * 0x1p-50L;
          const ld ratio = std::fabs(dst[i] - want[i]) / allowed;
          if (!(ratio <= worst)) worst = ratio, worst_at = i;
        }
      }
      EXPECT_LE(worst, 1.0L) << "K=" << k << " mode " << mode << " at " << worst_at << ": got "
                             << dst[worst_at] << ", exact " << static_cast<double>(want[worst_at])
                             << " " << tag();
    }
  }
}

TEST_P(Calculus, BackwardCancellingF64) {
  std::mt19937_64 rng(12);
  const std::size_t k = 1000;
  std::uniform_int_distribution<int> weight(1, 2000), tiny(-(1 << 19), 1 << 19);
  std::vector<double> y(k), d(k), g(k), dz(k);
  std::int64_t total = 0;
  for (std::size_t i = 0; i + 1 < k; ++i) {
    const std::int64_t m = weight(rng);
    y[i] = std::ldexp(static_cast<double>(m), -20);
    total += m;
  }
  ASSERT_LT(total, 1 << 20);
  y[k - 1] = std::ldexp(static_cast<double>((1 << 20) - total), -20);  // sum(y) == 1 exactly
  for (std::size_t i = 0; i < k; ++i) {
    d[i] = std::ldexp(static_cast<double>(tiny(rng)), -40);
    g[i] = 1024 + d[i];  // exact
  }
  const std::int64_t shape[1] = {Size(k)};
  ASSERT_TRUE(smx::softmax_backward(smx::TensorView<const double>(g.data(), shape),
                                    smx::TensorView<const double>(y.data(), shape),
                                    smx::TensorView<double>(dz.data(), shape))
                  .ok());
  long double dy = 0;  // sum_j d_j y_j, exact: 40-bit products, 50-bit sums
  for (std::size_t j = 0; j < k; ++j) dy += static_cast<long double>(d[j]) * y[j];
  std::vector<ld> want(k);
  for (std::size_t i = 0; i < k; ++i) want[i] = y[i] * (d[i] - dy);
  EXPECT_TRUE(MatchesRel("softmax_backward, cancelling " + tag(), dz, want, 1e-12, 1e-300));
}

// The entropy against a long-double reference -sum y log y (y from exp of the exact shifted
// logits), over lengths, temperatures, -inf entries and dominant rows; then the edges.
TEST_P(Calculus, Entropy) {
  std::mt19937_64 rng(31);
  std::normal_distribution<double> nd(0, 3);
  for (std::size_t k : {1, 2, 3, 9, 100, 1025, 2500}) {
    for (double t : {1.0, 0.25, 7.0}) {
      for (int fill = 0; fill < 3; ++fill) {  // plain, some -inf, one dominant entry
        const std::size_t rows = 3;
        std::vector<double> z(rows * k);
        for (auto& v : z) v = nd(rng);
        for (std::size_t r = 0; r < rows; ++r) {
          if (fill == 1 && k > 1) z[r * k + (r % k)] = -kInf;
          if (fill == 2) z[r * k + k / 2] += 60;
        }
        std::vector<ld> want(rows);
        for (std::size_t r = 0; r < rows; ++r) {
          ld m = -kInf, sum = 0, weighted = 0;
          for (std::size_t i = 0; i < k; ++i) m = std::fmax(m, static_cast<ld>(z[r * k + i]));
          for (std::size_t i = 0; i < k; ++i) {
            const ld d = (m - z[r * k + i]) / t;
            if (std::isinf(d)) continue;
            sum += std::exp(-d);
            weighted += std::exp(-d) * d;
          }
          ld rest = 0;  // the non-max terms on their own, for log1p
          for (std::size_t i = 0; i < k; ++i) {
            const ld d = (m - z[r * k + i]) / t;
            if (d > 0 && !std::isinf(d)) rest += std::exp(-d);
          }
          want[r] = std::log(sum - rest) + std::log1p(rest / (sum - rest)) + weighted / sum;
        }
        std::vector<double> h(rows);
        const std::int64_t shape[2] = {Size(rows), Size(k)}, out_shape[1] = {Size(rows)};
        ASSERT_TRUE(smx::entropy(smx::TensorView<const double>(z.data(), shape),
                                 smx::TensorView<double>(h.data(), out_shape), {.temperature = t})
                        .ok());
        EXPECT_TRUE(MatchesRel("entropy f64 K=" + std::to_string(k) + " T=" + std::to_string(t) +
                                   " fill " + std::to_string(fill) + " " + tag(),
                               h, want, 1e-13, 1e-300));
        std::vector<float> zf(z.begin(), z.end()), hf(rows);
        ASSERT_TRUE(smx::entropy(smx::TensorView<const float>(zf.data(), shape),
                                 smx::TensorView<float>(hf.data(), out_shape), {.temperature = t})
                        .ok());
        for (std::size_t r = 0; r < rows; ++r) {
          // The f32 logits differ from the f64 ones: compare with the f64 result loosely.
          EXPECT_NEAR(hf[r], h[r], 1e-4 * (1 + h[r])) << "entropy f32 K=" << k << " T=" << t;
        }
      }
    }
  }
  // Edges: NaN and +inf rows give NaN, a masked row 0, the limits log m and log n, [5, 0, -5].
  // (An all-NaN row has a NaN max on every target: it must not read as fully masked.)
  const double rows5[5][3] = {
      {1, kNaN, 2}, {1, kInf, 2}, {-kInf, -kInf, -kInf}, {5, 0, -5}, {kNaN, kNaN, kNaN}};
  std::vector<double> z(&rows5[0][0], &rows5[0][0] + 15), h(5);
  const std::int64_t shape[2] = {5, 3}, out_shape[1] = {5};
  ASSERT_TRUE(smx::entropy(smx::TensorView<const double>(z.data(), shape),
                           smx::TensorView<double>(h.data(), out_shape))
                  .ok());
  EXPECT_TRUE(std::isnan(h[0]));
  EXPECT_TRUE(std::isnan(h[1]));
  EXPECT_EQ(h[2], 0.0);
  EXPECT_NEAR(h[3], 0.04067412954243125, 1e-17);
  EXPECT_TRUE(std::isnan(h[4]));
  const double ties[2][4] = {{3, 3, 1, -kInf}, {0, 1, 2, -kInf}};
  std::vector<double> zt(&ties[0][0], &ties[0][0] + 8), ht(2);
  const std::int64_t tshape[2] = {2, 4}, tout[1] = {2};
  ASSERT_TRUE(smx::entropy(smx::TensorView<const double>(zt.data(), tshape),
                           smx::TensorView<double>(ht.data(), tout), {.temperature = 0})
                  .ok());
  EXPECT_EQ(ht[0], std::log(2.0));
  EXPECT_EQ(ht[1], 0.0);
  ASSERT_TRUE(smx::entropy(smx::TensorView<const double>(zt.data(), tshape),
                           smx::TensorView<double>(ht.data(), tout), {.temperature = kInf})
                  .ok());
  EXPECT_EQ(ht[0], std::log(3.0));  // the -inf entry keeps weight 0
  const smx::Status bad = smx::entropy(smx::TensorView<const double>(zt.data(), tshape),
                                       smx::TensorView<double>(ht.data(), tout),
                                       {.temperature = -1});
  EXPECT_NE(bad.message().find("entropy: temperature must be >= 0"), std::string::npos)
      << bad.message();
}

// J against central differences of smx::softmax, and its properties.
TEST_P(Calculus, JacobianProperties) {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> nd(0, 2);
  for (std::size_t k : {1, 2, 5, 13}) {
    for (double t : {1.0, 0.5}) {
      std::vector<double> z(k), jac(k * k);
      for (auto& v : z) v = nd(rng);
      const std::int64_t zs[1] = {Size(k)}, js[2] = {Size(k), Size(k)};
      ASSERT_TRUE(smx::softmax_jacobian(smx::TensorView<const double>(z.data(), zs),
                                        smx::TensorView<double>(jac.data(), js),
                                        {.temperature = t})
                      .ok());
      const std::string label = "K=" + std::to_string(k) + " T=" + std::to_string(t);
      for (std::size_t j = 0; j < k; ++j) {
        const double h = 1e-6;
        std::vector<double> zp = z, zm = z, yp(k), ym(k);
        zp[j] += h;
        zm[j] -= h;
        ASSERT_TRUE(smx::softmax(std::span<const double>(zp), std::span<double>(yp),
                                 {.temperature = t})
                        .ok());
        ASSERT_TRUE(smx::softmax(std::span<const double>(zm), std::span<double>(ym),
                                 {.temperature = t})
                        .ok());
        for (std::size_t i = 0; i < k; ++i) {
          EXPECT_NEAR(jac[i * k + j], (yp[i] - ym[i]) / (zp[j] - zm[j]), 1e-8)
              << label << " J[" << i << "][" << j << "] against finite differences";
        }
      }
      std::vector<double> v(k);
      for (auto& x : v) x = nd(rng);
      long double quad = 0;
      for (std::size_t i = 0; i < k; ++i) {
        long double row = 0, col = 0;
        for (std::size_t j = 0; j < k; ++j) {
          EXPECT_EQ(jac[i * k + j], jac[j * k + i]) << label << ": symmetric";
          row += jac[i * k + j];
          col += jac[j * k + i];
          quad += static_cast<long double>(v[i]) * jac[i * k + j] * v[j];
        }
        EXPECT_NEAR(static_cast<double>(row), 0.0, 1e-15) << label << ": J 1 = 0";
        EXPECT_NEAR(static_cast<double>(col), 0.0, 1e-15) << label << ": 1^T J = 0";
      }
      EXPECT_GE(static_cast<double>(quad), -1e-15) << label << ": v^T J v >= 0";
    }
  }
}

// A dominant entry: y_0 = 1 - 1.4e-11, so J[0][0] = y_0 (1 - y_0) ~ 1.4e-11 must not come from
// 1 - y_0 (which would carry y_0's rounding, a relative 1e-5 of the result).
TEST_P(Calculus, JacobianDominantEntry) {
  const std::vector<double> z = {0, -25, -30, -27.5};
  std::vector<double> jac(16);
  const std::int64_t zs[1] = {4}, js[2] = {4, 4};
  ASSERT_TRUE(smx::softmax_jacobian(smx::TensorView<const double>(z.data(), zs),
                                    smx::TensorView<double>(jac.data(), js))
                  .ok());
  long double e[4], sum = 0;
  for (int i = 0; i < 4; ++i) sum += e[i] = std::exp(static_cast<long double>(z[i]));
  std::vector<ld> want(16);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      ld others = 0;  // summed directly: sum - e[i] would cancel for i = 0 here too
      for (int m = 0; m < 4; ++m) others += m == i ? 0 : e[m];
      want[i * 4 + j] = i == j ? e[i] * others / (sum * sum) : -e[i] * e[j] / (sum * sum);
    }
  }
  EXPECT_TRUE(MatchesRel("jacobian, dominant entry " + tag(), jac, want, 1e-14, 1e-300));
}

// Jacobians of a batch along axis 0 of a [K, B] tensor: [B, K, K], each the row's own.
TEST_P(Calculus, JacobianBatchAndAxis) {
  const std::size_t k = 4, b = 3;
  std::vector<float> z(k * b);  // [K, B]
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = static_cast<float>(std::sin(1.7 * i) * 3);
  std::vector<float> jac(b * k * k);
  const std::int64_t zs[2] = {Size(k), Size(b)}, js[3] = {Size(b), Size(k), Size(k)};
  ASSERT_TRUE(smx::softmax_jacobian(smx::TensorView<const float>(z.data(), zs),
                                    smx::TensorView<float>(jac.data(), js), {.axis = 0})
                  .ok());
  for (std::size_t c = 0; c < b; ++c) {
    std::vector<float> col(k), jc(k * k);
    for (std::size_t i = 0; i < k; ++i) col[i] = z[i * b + c];
    const std::int64_t cs[1] = {Size(k)}, cjs[2] = {Size(k), Size(k)};
    ASSERT_TRUE(smx::softmax_jacobian(smx::TensorView<const float>(col.data(), cs),
                                      smx::TensorView<float>(jc.data(), cjs))
                    .ok());
    for (std::size_t i = 0; i < k * k; ++i) EXPECT_EQ(jac[c * k * k + i], jc[i]) << c << " " << i;
  }
}

// The backward pass along a middle axis of a strided view, and in f16.
TEST_P(Calculus, AxesStridesAndHalf) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> nd(0, 2);
  const std::size_t a = 3, k = 5, c = 4;
  std::vector<double> z(a * k * c), g(a * k * c), y(a * k * c), dz(a * k * c);
  for (auto& v : z) v = nd(rng);
  for (auto& v : g) v = nd(rng);
  const std::int64_t shape[3] = {Size(a), Size(k), Size(c)};
  ASSERT_TRUE(smx::softmax(smx::TensorView<const double>(z.data(), shape),
                           smx::TensorView<double>(y.data(), shape), {.axis = 1})
                  .ok());
  ASSERT_TRUE(smx::softmax_backward(smx::TensorView<const double>(g.data(), shape),
                                    smx::TensorView<const double>(y.data(), shape),
                                    smx::TensorView<double>(dz.data(), shape), {.axis = 1})
                  .ok());
  for (std::size_t i = 0; i < a; ++i) {
    for (std::size_t j = 0; j < c; ++j) {
      long double s = 0;
      for (std::size_t r = 0; r < k; ++r) s += (long double)g[(i * k + r) * c + j] * y[(i * k + r) * c + j];
      for (std::size_t r = 0; r < k; ++r) {
        const std::size_t e = (i * k + r) * c + j;
        EXPECT_NEAR(dz[e], static_cast<double>(y[e] * (g[e] - s)), 1e-15) << i << " " << r << " " << j;
      }
    }
  }
  // f16: the same within f16's precision.
  std::vector<smx::float16> gh(g.size()), yh(y.size()), dh(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    gh[i] = smx::to_float16(static_cast<float>(g[i]));
    yh[i] = smx::to_float16(static_cast<float>(y[i]));
  }
  ASSERT_TRUE(smx::softmax_backward(smx::TensorView<const smx::float16>(gh.data(), shape),
                                    smx::TensorView<const smx::float16>(yh.data(), shape),
                                    smx::TensorView<smx::float16>(dh.data(), shape), {.axis = 1})
                  .ok());
  for (std::size_t i = 0; i < dh.size(); ++i) {
    EXPECT_NEAR(smx::to_float(dh[i]), dz[i], 4e-3 * (1 + std::fabs(dz[i]))) << i;
  }
}

TEST(CalculusErrors, BadArgumentsNameTheProblem) {
  double g[6] = {}, y[6] = {}, dz[6] = {}, jac[9] = {};
  const std::int64_t s23[2] = {2, 3}, s32[2] = {3, 2}, s3[1] = {3}, s33[2] = {3, 3};
  const smx::TensorView<const double> gv(g, s23), yv(y, s23);
  smx::Status s = smx::softmax_backward(gv, yv, smx::TensorView<double>(dz, s23), {.temperature = 0});
  EXPECT_NE(s.message().find("temperature must be finite and > 0"), std::string::npos)
      << s.message();
  s = smx::log_softmax_backward(gv, smx::TensorView<const double>(y, s32),
                                smx::TensorView<double>(dz, s23));
  EXPECT_NE(s.message().find("shape"), std::string::npos) << s.message();
  s = smx::softmax_backward(gv, yv, smx::TensorView<double>(dz, s23), {.axis = 2});
  EXPECT_NE(s.message().find("axis 2"), std::string::npos) << s.message();
  s = smx::softmax_jacobian(smx::TensorView<const double>(g, s3), smx::TensorView<double>(jac, s3));
  EXPECT_NE(s.message().find("the jacobian must be f64 [3, 3]"), std::string::npos)
      << s.message();
  EXPECT_TRUE(smx::softmax_jacobian(smx::TensorView<const double>(g, s3),
                                    smx::TensorView<double>(jac, s33))
                  .ok());
  // In place is the same view; an output that overlaps an input otherwise is an error, with
  // nothing written.
  double buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const smx::TensorView<const double> in(buf, s23), other(y, s23);
  s = smx::softmax_backward(in, other, smx::TensorView<double>(buf + 1, s23));
  EXPECT_NE(s.message().find("softmax_backward: the output overlaps the gradient without being it"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(buf[1], 2.0) << "nothing may be written on error";
  s = smx::log_softmax_backward(other, in, smx::TensorView<double>(buf + 2, s23));
  EXPECT_NE(s.message().find("overlaps the forward output"), std::string::npos) << s.message();
  const std::int64_t transposed[2] = {1, 2};
  s = smx::softmax_jvp(other.ref(), in.ref(), smx::TensorView<double>(buf, s23, transposed).ref());
  EXPECT_NE(s.message().find("softmax_jvp: the output overlaps"), std::string::npos) << s.message();
  EXPECT_TRUE(smx::softmax_backward(in, other, smx::TensorView<double>(buf, s23)).ok());
  EXPECT_TRUE(smx::log_softmax_backward(other, in, smx::TensorView<double>(buf, s23)).ok());
}

TEST(CalculusThreads, SameBitsForAnyThreadCount) {
  std::mt19937_64 rng(8);
  std::normal_distribution<float> nd(0, 3);
  const std::size_t rows = 512, k = 1000;
  std::vector<float> g(rows * k), y(rows * k), d1(rows * k), d2(rows * k);
  for (auto& v : g) v = nd(rng);
  for (auto& v : y) v = std::fabs(nd(rng)) / 1000;
  const std::int64_t shape[2] = {Size(rows), Size(k)};
  const int saved = smx::get_num_threads();
  smx::set_num_threads(1);
  ASSERT_TRUE(smx::log_softmax_backward(smx::TensorView<const float>(g.data(), shape),
                                        smx::TensorView<const float>(y.data(), shape),
                                        smx::TensorView<float>(d1.data(), shape))
                  .ok());
  smx::set_num_threads(2);
  ASSERT_TRUE(smx::log_softmax_backward(smx::TensorView<const float>(g.data(), shape),
                                        smx::TensorView<const float>(y.data(), shape),
                                        smx::TensorView<float>(d2.data(), shape))
                  .ok());
  smx::set_num_threads(saved);
  EXPECT_TRUE(BitwiseEqual("log_softmax_backward 1 vs 2 threads", d1.data(), d2.data(), d1.size()));
}

// A single long row goes over the threads in chunks (the driver's split) with 2 threads and
// through the rows kernel with 1: the same bits, and the reference's values. Lengths of 2 and 5
// dot chunks (65536 elements), the last one partial.
template <typename T>
void CheckLongRowSplit() {
  std::mt19937_64 rng(sizeof(T));
  for (const std::size_t k : {std::size_t(65537), std::size_t(300001)}) {
    const std::int64_t shape[2] = {1, Size(k)};
    const std::vector<T> z = RandomNormal<T>(rng, k, 0.0, 3.0);
    const std::vector<T> g = RandomNormal<T>(rng, k, 0.0, 1.0);
    std::vector<T> y(k), out(k);
    ASSERT_TRUE(
        smx::softmax(smx::TensorView<const T>(z.data(), shape), smx::TensorView<T>(y.data(), shape))
            .ok());
    ASSERT_TRUE(smx::log_softmax(smx::TensorView<const T>(z.data(), shape),
                                 smx::TensorView<T>(out.data(), shape))
                    .ok());
    const smx::TensorView<const T> gv(g.data(), shape), yv(y.data(), shape), ov(out.data(), shape);
    for (const bool log : {false, true}) {
      std::vector<T> dz[2] = {std::vector<T>(k), std::vector<T>(k)};
      const int saved = smx::get_num_threads();
      for (int threads = 1; threads <= 2; ++threads) {
        smx::set_num_threads(threads);
        const smx::TensorView<T> dv(dz[threads - 1].data(), shape);
        ASSERT_TRUE(
            (log ? smx::log_softmax_backward(gv, ov, dv) : smx::softmax_backward(gv, yv, dv)).ok());
      }
      smx::set_num_threads(saved);
      const std::string label = std::string(log ? "log_softmax_backward " : "softmax_backward ") +
                                Elem<T>::kName + " K=" + std::to_string(k);
      EXPECT_TRUE(BitwiseEqual(label + ", 1 vs 2 threads", dz[0].data(), dz[1].data(), k));
      const auto want = log ? LogSoftmaxBackwardRef(Widen(g), Widen(out), 1, k, 1)
                            : SoftmaxBackwardRef(Widen(g), Widen(y), 1, k, 1);
      const bool f64 = sizeof(T) == 8;
      EXPECT_TRUE(MatchesRel(label, dz[1], want, f64 ? 1e-12 : 1e-5, f64 ? 1e-15 : 1e-7));
    }
  }
}

TEST(CalculusThreads, LongRowSplitOverThreadsF32) { CheckLongRowSplit<float>(); }
TEST(CalculusThreads, LongRowSplitOverThreadsF64) { CheckLongRowSplit<double>(); }

SMX_INSTANTIATE_TARGETS(Calculus);

}  // namespace
}  // namespace smx_test
