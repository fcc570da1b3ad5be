// The losses (smx/losses.h): the golden cases of cross_entropy, cross_entropy_probs and
// kl_div_distill; long-double references over lengths that cross every vector boundary, with
// weights, label smoothing, ignored targets and every reduction; the exact loss of a confident
// prediction; the edges (NaN, +inf, masked classes and rows, N = 0, all ignored); in place, axes,
// strides, the 16-bit types; errors; on every SIMD target (threads: losses_threads_test.cc).
#include "smx/losses.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cross_entropy_harness.h"
#include "golden.h"
#include "smx/runtime.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

class Losses : public TargetTest {
 protected:
  template <typename T>
  void RunGolden() {
    const GoldenFile& gf = Golden();
    ASSERT_TRUE(gf.error.empty()) << gf.error;
    int run = 0;
    for (const auto& c : gf.tensor_cases) {
      if (c.dtype != Elem<T>::kName) continue;
      const std::string label = c.id + " " + tag();
      if (c.op == "cross_entropy") {
        ++run;
        RunGoldenClassCase<T>(c, label);
      } else if (c.op == "cross_entropy_probs" || c.op == "kl_div_distill") {
        ++run;
        RunGoldenPairCase<T>(c, label);
      }
    }
    EXPECT_GT(run, 0) << "no golden loss cases for " << Elem<T>::kName;
  }

  template <typename T>
  void RunGoldenClassCase(const GoldenTensorCase& c, const std::string& label) {
    const GoldenTensor& z = c.inputs.at("logits");
    const std::size_t n = z.shape.at(0), k = z.shape.at(1);
    std::vector<std::int64_t> target;
    for (const double t : c.inputs.at("target").data) target.push_back(static_cast<std::int64_t>(t));
    CeSpec spec;
    ASSERT_TRUE(smx::parse_reduction(c.string_params.at("reduction").c_str(), spec.reduction));
    spec.ignore_index = static_cast<std::int64_t>(c.params.at("ignore_index"));
    spec.smoothing = c.params.at("label_smoothing");
    if (c.list_params.count("weight")) spec.weight = c.list_params.at("weight");
    const std::vector<ld> want_loss = Widen(c.expected.at("loss").data);
    const std::vector<ld> want_grad = Widen(c.expected.at("grad_logits").data);
    const std::vector<T> zt = Cast<T>(z.data);
    for (const bool transposed : {false, true}) {
      for (const GradMode mode : {GradMode::kOutOfPlace, GradMode::kInPlace, GradMode::kNone}) {
        if (transposed && mode == GradMode::kNone) continue;
        const std::string where = label + (transposed ? " transposed" : "") +
                                  (mode == GradMode::kInPlace ? " in place"
                                   : mode == GradMode::kNone  ? " loss only"
                                                              : "");
        const CeResult<T> r = RunCrossEntropy<T>(zt, n, k, target, spec, mode, transposed);
        ASSERT_TRUE(r.status.ok()) << where << ": " << r.status.message();
        EXPECT_TRUE(MatchesRel(where + " loss", r.loss, want_loss, c.tol_value, c.tol_abs));
        if (mode != GradMode::kNone) {
          EXPECT_TRUE(MatchesRel(where + " grad", r.grad, want_grad, c.tol_value, c.tol_abs));
        }
      }
    }
  }

  template <typename T>
  void RunGoldenPairCase(const GoldenTensorCase& c, const std::string& label) {
    const bool distill = c.op == "kl_div_distill";
    const GoldenTensor& x = c.inputs.at(distill ? "student" : "logits");
    const GoldenTensor& q = c.inputs.at(distill ? "teacher" : "target");
    std::vector<T> xt = Cast<T>(x.data), qt = Cast<T>(q.data), w;
    const std::vector<ld> want_loss = Widen(c.expected.at("loss").data);
    const std::vector<ld> want_grad = Widen(c.expected.at(distill ? "grad_student" : "grad_logits").data);
    std::vector<T> loss(want_loss.size()), grad(xt.size());
    const smx::TensorView<const T> xv(xt.data(), x.shape), qv(qt.data(), q.shape);
    const smx::TensorView<T> lv(loss.data(), c.expected.at("loss").shape), gv(grad.data(), x.shape);
    for (const bool in_place : {false, true}) {
      std::vector<T> xs = xt;
      const smx::TensorView<T> g = in_place ? smx::TensorView<T>(xs.data(), x.shape) : gv;
      const smx::TensorView<const T> xin(xs.data(), x.shape);
      smx::Status s;
      if (distill) {
        s = smx::kl_div_distill(xin.ref(), qv.ref(), lv.ref(), g.ref(),
                                {.temperature = c.params.at("T")});
      } else {
        smx::CrossEntropyOptions o;
        ASSERT_TRUE(smx::parse_reduction(c.string_params.at("reduction").c_str(), o.reduction));
        const std::int64_t wshape[1] = {x.shape.at(1)};
        if (c.list_params.count("weight")) {
          w = Cast<T>(c.list_params.at("weight"));
          o.weight = smx::TensorView<const T>(w.data(), wshape).ref();
        }
        s = smx::cross_entropy_probs(xin.ref(), qv.ref(), lv.ref(), g.ref(), o);
      }
      const std::string where = label + (in_place ? " in place" : "");
      ASSERT_TRUE(s.ok()) << where << ": " << s.message();
      EXPECT_TRUE(MatchesRel(where + " loss", loss, want_loss, c.tol_value, c.tol_abs));
      EXPECT_TRUE(MatchesRel(where + " grad", in_place ? xs : grad, want_grad, c.tol_value,
                             c.tol_abs));
    }
  }

  // Every reduction, with and without weights and smoothing, ignored targets among the rows,
  // over class counts that cross every vector and unroll boundary.
  template <typename T>
  void RunClassSweep() {
    std::mt19937_64 rng(41);
    const double rel = sizeof(T) == 4 ? 2e-6 : 2e-14;
    const double abs = sizeof(T) == 4 ? 1e-9 : 1e-18;
    for (std::size_t c = 1; c <= 70; c += (c < 20 ? 1 : 7)) {
      for (const std::size_t n : {std::size_t(1), std::size_t(5)}) {
        for (int variant = 0; variant < 4; ++variant) {
          CeSpec spec;
          spec.reduction = static_cast<smx::Reduction>(variant % 3);
          spec.smoothing = variant >= 2 ? 0.15 : 0.0;
          if (variant % 2 == 1) spec.weight = RandomUniform<double>(rng, c, 0.25, 2.0);
          for (auto& v : spec.weight) v = static_cast<T>(v);
          const std::vector<T> z = RandomNormal<T>(rng, n * c, 0.5, 4);
          std::vector<std::int64_t> target(n);
          for (std::size_t r = 0; r < n; ++r) target[r] = static_cast<std::int64_t>(rng() % c);
          if (n > 1) target[1] = spec.ignore_index;
          std::vector<ld> want_loss, want_grad;
          CrossEntropyRef(WidenT(z), n, c, target, spec, want_loss, want_grad);
          // The smoothing's -B w_c term is formed in T: a non-target entry near A e_c = B w_c
          // carries an absolute error of a few ulps of B w_c.
          double w_max = 1, divisor = 0;
          for (const double v : spec.weight) w_max = std::max(w_max, v);
          for (const std::int64_t t : target) {
            if (t != spec.ignore_index) divisor += spec.weight.empty() ? 1 : spec.weight[t];
          }
          const double grad_scale = spec.reduction == smx::Reduction::kMean ? 1 / divisor : 1;
          const double grad_abs = abs + 4 * std::numeric_limits<T>::epsilon() *
                                            (spec.smoothing / c) * w_max * grad_scale;
          const std::string label = std::string(Elem<T>::kName) + " C=" + std::to_string(c) +
                                    " N=" + std::to_string(n) + " variant " +
                                    std::to_string(variant) + " " + tag();
          const CeResult<T> r = RunCrossEntropy<T>(z, n, c, target, spec, GradMode::kOutOfPlace);
          ASSERT_TRUE(r.status.ok()) << label << ": " << r.status.message();
          EXPECT_TRUE(MatchesRel(label + " loss", r.loss, want_loss, rel, abs));
          EXPECT_TRUE(MatchesRel(label + " grad", r.grad, want_grad, rel, grad_abs));
          const CeResult<T> loss_only = RunCrossEntropy<T>(z, n, c, target, spec, GradMode::kNone);
          EXPECT_TRUE(MatchesRel(label + " loss alone", loss_only.loss, want_loss, rel, abs));
          const CeResult<T> in_place = RunCrossEntropy<T>(z, n, c, target, spec, GradMode::kInPlace);
          EXPECT_TRUE(BitwiseEqual(label + " in place", in_place.grad.data(), r.grad.data(),
                                   r.grad.size()));
        }
      }
    }
  }
};

TEST_P(Losses, GoldenF32) { RunGolden<float>(); }
TEST_P(Losses, GoldenF64) { RunGolden<double>(); }
TEST_P(Losses, ClassSweepF32) { RunClassSweep<float>(); }
TEST_P(Losses, ClassSweepF64) { RunClassSweep<double>(); }

// loss = -log p_t = log1p(sum of the others) ~ 1e-7 keeps its digits (naively, LSE - z_t cancels
// to 0 in f32), and so does the target's gradient p_t - 1 ~ -1e-7.
TEST_P(Losses, ConfidentPredictionIsExact) {
  for (const float gap : {16.118f, 20.0f, 30.0f, 80.0f}) {
    std::vector<float> z = {3.0f, 3.0f - gap, 3.0f - gap - 1.5f, -100.0f};
    const std::vector<std::int64_t> target = {0};
    CeSpec spec;
    spec.reduction = smx::Reduction::kSum;
    std::vector<ld> want_loss, want_grad;
    CrossEntropyRef(WidenT(z), 1, z.size(), target, spec, want_loss, want_grad);
    ASSERT_GT(want_loss[0], 0);
    const std::string label = "gap " + std::to_string(gap) + " " + tag();
    // The loss alone takes its own path: no stored exponentials to split the sum from.
    for (const GradMode mode : {GradMode::kInPlace, GradMode::kOutOfPlace, GradMode::kNone}) {
      const CeResult<float> r = RunCrossEntropy<float>(z, 1, z.size(), target, spec, mode);
      ASSERT_TRUE(r.status.ok());
      EXPECT_TRUE(MatchesRel(label + " loss", r.loss, want_loss, 1e-6, 0));
      // 1e-44: p_3 ~ 1e-45 is a subnormal, whose spacing in f32 is 1.4e-45.
      if (mode != GradMode::kNone) {
        EXPECT_TRUE(MatchesRel(label + " grad", r.grad, want_grad, 1e-6, 1e-44));
      }
    }
    std::vector<double> zd(z.begin(), z.end());
    const CeResult<double> rd = RunCrossEntropy<double>(zd, 1, z.size(), target, spec, GradMode::kOutOfPlace);
    EXPECT_TRUE(MatchesRel(label + " f64 loss", rd.loss, want_loss, 1e-14, 0));
    EXPECT_TRUE(MatchesRel(label + " f64 grad", rd.grad, want_grad, 1e-14, 0));
  }
}

// A target at the row max, around where the f32 kernel stops taking its sum whole (p_t = 2/3)
// and splits it again, with maxima on both sides of the shift-0 range [0, 60], ties at the max,
// and every gradient mode (the loss alone re-reads the logits). A max of -20 with a rest of 1e-35
// puts the others' exp(z_c) far below f32's range; a max of 100 puts exp(m) above it.
TEST_P(Losses, TargetAtTheMaxAcrossThePaths) {
  const std::size_t k = 37;
  for (const float m : {-20.0f, -5.0f, 0.0f, 7.5f, 59.5f, 61.0f, 100.0f}) {
    for (const double rest : {1e-35, 1e-7, 0.3, 0.499, 0.5, 0.501, 0.8, 3.0}) {
      for (const int at_max : {1, 2}) {
        std::vector<float> z(k, static_cast<float>(m + std::log(rest / (k - at_max))));
        const std::int64_t t = 11;
        z[t] = m;
        if (at_max == 2) z[30] = m;
        CeSpec spec;
        spec.reduction = smx::Reduction::kNone;
        std::vector<ld> want_loss, want_grad;
        CrossEntropyRef(WidenT(z), 1, k, {t}, spec, want_loss, want_grad);
        const std::string label = "max " + std::to_string(m) + " rest " + std::to_string(rest) +
                                  " ties " + std::to_string(at_max) + " " + tag();
        for (const GradMode mode : {GradMode::kInPlace, GradMode::kOutOfPlace, GradMode::kNone}) {
          const CeResult<float> r = RunCrossEntropy<float>(z, 1, k, {t}, spec, mode);
          ASSERT_TRUE(r.status.ok());
          EXPECT_TRUE(MatchesRel(label + " loss", r.loss, want_loss, 1e-6, 0));
          if (mode != GradMode::kNone) {
            EXPECT_TRUE(MatchesRel(label + " grad", r.grad, want_grad, 1e-6, 1e-44));
          }
        }
      }
    }
  }
}

// A long confident row: its 1e-7 loss is spread over hundreds of entries, which the sum must not
// add to the max's 1 in f32 (every vector and tree boundary crossed).
TEST_P(Losses, ConfidentLongRowIsExact) {
  for (const std::size_t k : {std::size_t(64), std::size_t(200), std::size_t(1000), std::size_t(4099)}) {
    std::vector<float> z(k);
    for (std::size_t i = 0; i < k; ++i) z[i] = -22.0f - static_cast<float>(i % 7) * 0.25f;
    const std::int64_t t = static_cast<std::int64_t>(k / 3);
    z[t] = 1.5f;
    CeSpec spec;
    spec.reduction = smx::Reduction::kNone;
    std::vector<ld> want_loss, want_grad;
    CrossEntropyRef(WidenT(z), 1, k, {t}, spec, want_loss, want_grad);
    const CeResult<float> r = RunCrossEntropy<float>(z, 1, k, {t}, spec, GradMode::kOutOfPlace);
    ASSERT_TRUE(r.status.ok());
    const std::string label = "K=" + std::to_string(k) + " " + tag();
    EXPECT_TRUE(MatchesRel(label + " loss", r.loss, want_loss, 1e-6, 0));
    EXPECT_TRUE(MatchesRel(label + " grad", r.grad, want_grad, 1e-6, 1e-44));
  }
}

TEST_P(Losses, EdgeRows) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // Rows: a NaN; a +inf; fully masked; a masked target; a masked class that smoothing weighs 0.
  const std::size_t c = 5;
  const std::vector<float> z = {1, 2, nan, 0, -1,       1, inf, 0, 0, 0,
                                -inf, -inf, -inf, -inf, -inf, 1, 2, -inf, 0, -1,
                                1, 2, -inf, 0, -1};
  const std::vector<std::int64_t> target = {0, 0, 3, 2, 1};
  CeSpec spec;
  spec.reduction = smx::Reduction::kNone;
  for (const double eps : {0.0, 0.2}) {
    spec.smoothing = eps;
    spec.weight = {1, 1, eps > 0 ? 0.0 : 1.0, 1, 1};
    const std::string label = "eps " + std::to_string(eps) + " " + tag();
    const CeResult<float> r = RunCrossEntropy<float>(z, 5, c, target, spec, GradMode::kOutOfPlace);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_TRUE(std::isnan(r.loss[0]) && std::isnan(r.loss[1])) << label;
    for (std::size_t k = 0; k < 2 * c; ++k) EXPECT_TRUE(std::isnan(r.grad[k])) << label << k;
    // Fully masked: p = 0, so the loss is +inf and the gradient the limit formula.
    EXPECT_EQ(r.loss[2], inf) << label;
    const double eps_c = eps / c;
    for (std::size_t k = 0; k < c; ++k) {
      const double want = -(k == 3 ? (1 - eps) : 0.0) - eps_c * spec.weight[k];
      EXPECT_FLOAT_EQ(r.grad[2 * c + k], static_cast<float>(want)) << label << " masked row " << k;
    }
    // The target is a masked class: infinite loss, finite gradient p - onehot (with eps > 0 its
    // weight is 0 here: then it adds nothing at all).
    if (eps == 0) {
      EXPECT_EQ(r.loss[3], inf) << label;
      EXPECT_FLOAT_EQ(r.grad[3 * c + 2], -1.0f) << label;
    } else {
      EXPECT_TRUE(std::isfinite(r.loss[3])) << label;
      EXPECT_EQ(r.grad[3 * c + 2], 0.0f) << label;
    }
    // A masked class of weight 0 under smoothing adds nothing; of weight 1 it makes the loss inf.
    std::vector<ld> want_loss, want_grad;
    CrossEntropyRef(WidenT(z), 5, c, target, spec, want_loss, want_grad);
    EXPECT_TRUE(std::isfinite(r.loss[4])) << label << " loss " << r.loss[4];
    EXPECT_NEAR(r.loss[4], static_cast<double>(want_loss[4]), 1e-5) << label;
    for (std::size_t k = 0; k < c; ++k) {
      EXPECT_NEAR(r.grad[4 * c + k], static_cast<double>(want_grad[4 * c + k]), 1e-6) << label << k;
    }
  }
  spec.smoothing = 0.2;
  spec.weight.clear();
  const CeResult<float> r = RunCrossEntropy<float>(z, 5, c, target, spec, GradMode::kNone);
  EXPECT_EQ(r.loss[4], inf) << "a masked class under smoothing, weight 1 " << tag();
}

TEST_P(Losses, IgnoredAndEmpty) {
  const std::vector<double> z = {1, 2, 3, 4, 5, 6};
  CeSpec spec;
  // Every target ignored under mean: NaN (0/0, as PyTorch), and zero gradient rows.
  const CeResult<double> all = RunCrossEntropy<double>(z, 2, 3, {-100, -100}, spec, GradMode::kOutOfPlace);
  ASSERT_TRUE(all.status.ok());
  EXPECT_TRUE(std::isnan(all.loss[0]));
  for (const double g : all.grad) EXPECT_EQ(g, 0.0);
  spec.reduction = smx::Reduction::kSum;
  EXPECT_EQ(RunCrossEntropy<double>(z, 2, 3, {-100, -100}, spec, GradMode::kOutOfPlace).loss[0], 0.0);
  // ignore_index may be a valid class: those rows are skipped.
  spec.ignore_index = 1;
  spec.reduction = smx::Reduction::kMean;
  const CeResult<double> one = RunCrossEntropy<double>(z, 2, 3, {1, 2}, spec, GradMode::kOutOfPlace);
  std::vector<ld> want_loss, want_grad;
  CrossEntropyRef(Widen(z), 2, 3, {1, 2}, spec, want_loss, want_grad);
  EXPECT_TRUE(MatchesRel("ignore_index 1", one.loss, want_loss, 1e-13, 0));  // log S: 1e-13
  EXPECT_EQ(one.grad[0], 0.0);
  // N = 0.
  const std::vector<double> none;
  spec = {};
  EXPECT_TRUE(std::isnan(RunCrossEntropy<double>(none, 0, 3, {}, spec, GradMode::kOutOfPlace).loss[0]));
  spec.reduction = smx::Reduction::kSum;
  EXPECT_EQ(RunCrossEntropy<double>(none, 0, 3, {}, spec, GradMode::kOutOfPlace).loss[0], 0.0);
}

std::string Message(const smx::Status& s) { return s.ok() ? "ok" : s.message(); }

// The targets are checked on vectors (CountTargets): a bad one at every position of every length
// across the vector widths, the partial last vector included, is found and named (nothing
// written); the ignored ones, wherever they fall, leave mean's divisor.
TEST_P(Losses, TargetChecksAtEveryPosition) {
  const std::size_t c = 5;
  for (std::size_t n = 1; n <= 37; ++n) {
    const std::vector<double> z(n * c, 0.25);
    std::vector<std::int64_t> target(n);
    for (std::size_t i = 0; i < n; ++i) target[i] = static_cast<std::int64_t>(i % c);
    for (std::size_t bad = 0; bad < n; ++bad) {
      for (const std::int64_t value : {std::int64_t(-1), std::int64_t(5), std::int64_t(-101)}) {
        std::vector<std::int64_t> t = target;
        t[bad] = value;
        const CeResult<double> r = RunCrossEntropy<double>(z, n, c, t, {}, GradMode::kOutOfPlace);
        const std::string want =
            "target[" + std::to_string(bad) + "] = " + std::to_string(value) + " is outside";
        ASSERT_NE(Message(r.status).find(want), std::string::npos)
            << "n=" << n << ": " << Message(r.status);
        EXPECT_EQ(r.grad[0], -555.0) << "nothing may be written on error";
      }
    }
    // Every third target ignored (the first at each offset): mean = sum / the others' count.
    for (std::size_t offset = 0; offset < 3; ++offset) {
      std::vector<std::int64_t> t = target;
      std::size_t kept = n;
      for (std::size_t i = offset; i < n; i += 3, --kept) t[i] = -100;
      CeSpec spec;
      spec.reduction = smx::Reduction::kSum;
      const double sum = RunCrossEntropy<double>(z, n, c, t, spec, GradMode::kNone).loss[0];
      spec.reduction = smx::Reduction::kMean;
      const double mean = RunCrossEntropy<double>(z, n, c, t, spec, GradMode::kNone).loss[0];
      if (kept == 0) {
        EXPECT_TRUE(std::isnan(mean)) << "n=" << n;
      } else {
        EXPECT_EQ(mean, sum / static_cast<double>(kept)) << "n=" << n << " offset " << offset;
        EXPECT_NEAR(sum, static_cast<double>(kept) * std::log(5.0), 1e-12 * kept) << "n=" << n;
      }
    }
  }
}

// f16 and bf16 are computed in f32 from the converted logits; a strided class axis and a
// [N, C, d] tensor with the classes in the middle give the same as their contiguous copies.
TEST_P(Losses, HalfTypesAxesAndStrides) {
  std::mt19937_64 rng(5);
  const std::size_t n = 6, c = 37, d = 3;
  const std::vector<float> z = RandomNormal<float>(rng, n * c * d, 0, 3);
  std::vector<std::int64_t> target(n * d);
  for (auto& t : target) t = static_cast<std::int64_t>(rng() % c);
  CeSpec spec;
  spec.reduction = smx::Reduction::kNone;
  spec.smoothing = 0.1;
  // [n, c, d] with axis 1 against [n * d, c] rows.
  std::vector<float> rows(n * d * c);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < c; ++k) {
      for (std::size_t j = 0; j < d; ++j) rows[(i * d + j) * c + k] = z[(i * c + k) * d + j];
    }
  }
  const CeResult<float> flat = RunCrossEntropy<float>(rows, n * d, c, target, spec, GradMode::kOutOfPlace);
  ASSERT_TRUE(flat.status.ok());
  std::vector<float> loss(n * d), grad(z.size());
  const std::int64_t shape[3] = {Size(n), Size(c), Size(d)}, lshape[2] = {Size(n), Size(d)};
  smx::Status s = smx::cross_entropy(smx::TensorView<const float>(z.data(), shape), target,
                                     smx::TensorView<float>(loss.data(), lshape),
                                     smx::TensorView<float>(grad.data(), shape),
                                     {.reduction = smx::Reduction::kNone, .label_smoothing = 0.1, .axis = 1});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(BitwiseEqual("[n, c, d] loss " + tag(), loss.data(), flat.loss.data(), loss.size()));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < c; ++k) {
      for (std::size_t j = 0; j < d; ++j) {
        ASSERT_EQ(grad[(i * c + k) * d + j], flat.grad[(i * d + j) * c + k]) << tag();
      }
    }
  }
  // f16 and bf16: against the f64 reference of the rounded logits, at their own precision.
  auto check_half = [&](auto tag_value, double tol) {
    using H = decltype(tag_value);
    std::vector<H> h(rows.size()), g(rows.size()), l(n * d);
    std::vector<ld> wide(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      h[i] = Elem<H>::Round(rows[i]);
      wide[i] = Elem<H>::Widen(h[i]);
    }
    const std::int64_t rs[2] = {Size(n * d), Size(c)}, ls[1] = {Size(n * d)};
    ASSERT_TRUE(smx::cross_entropy(smx::TensorView<const H>(h.data(), rs), target,
                                   smx::TensorView<H>(l.data(), ls), smx::TensorView<H>(g.data(), rs),
                                   {.reduction = smx::Reduction::kNone, .label_smoothing = 0.1})
                    .ok());
    std::vector<ld> want_loss, want_grad;
    CrossEntropyRef(wide, n * d, c, target, spec, want_loss, want_grad);
    EXPECT_TRUE(MatchesRel(std::string(Elem<H>::kName) + " loss " + tag(), l, want_loss, tol, tol));
    EXPECT_TRUE(MatchesRel(std::string(Elem<H>::kName) + " grad " + tag(), g, want_grad, tol, tol));
  };
  check_half(smx::float16{}, 2e-3);
  check_half(smx::bfloat16{}, 1.6e-2);
}

// ---- Probability targets and distillation --------------------------------------------------

void ProbsRef(const std::vector<ld>& z, const std::vector<ld>& p, std::size_t n, std::size_t c,
              double eps, std::vector<ld>& loss, std::vector<ld>& grad) {
  loss.assign(n, 0);
  grad.assign(n * c, 0);
  for (std::size_t r = 0; r < n; ++r) {
    const std::vector<ld> lp = LogSoftmaxRef(&z[r * c], c);
    ld total = 0;
    for (std::size_t k = 0; k < c; ++k) {
      const ld q = (1 - eps) * p[r * c + k] + ld(eps) / c;
      total += q;
      if (q != 0) loss[r] -= q * lp[k];
    }
    for (std::size_t k = 0; k < c; ++k) {
      grad[r * c + k] = total * std::exp(lp[k]) - ((1 - eps) * p[r * c + k] + ld(eps) / c);
    }
  }
}

TEST_P(Losses, ProbabilityTargets) {
  std::mt19937_64 rng(17);
  for (const std::size_t c : {1, 3, 8, 17, 64}) {
    const std::size_t n = 4;
    const std::vector<double> z = RandomNormal<double>(rng, n * c, 0, 3);
    std::vector<double> p = RandomUniform<double>(rng, n * c, 0, 1);
    for (std::size_t r = 0; r < n; ++r) {
      double s = 0;
      for (std::size_t k = 0; k < c; ++k) s += p[r * c + k];
      for (std::size_t k = 0; k < c; ++k) p[r * c + k] /= s;
    }
    p[0] = 0;  // a zero target probability on a masked class adds nothing
    std::vector<double> zm = z;
    zm[0] = -std::numeric_limits<double>::infinity();
    for (const double eps : {0.0, 0.3}) {
      std::vector<ld> want_loss, want_grad;
      ProbsRef(Widen(zm), Widen(p), n, c, eps, want_loss, want_grad);
      std::vector<double> loss(n), grad(n * c);
      const std::int64_t shape[2] = {Size(n), Size(c)}, ls[1] = {Size(n)};
      ASSERT_TRUE(smx::cross_entropy_probs(smx::TensorView<const double>(zm.data(), shape).ref(),
                                           smx::TensorView<const double>(p.data(), shape).ref(),
                                           smx::TensorView<double>(loss.data(), ls).ref(),
                                           smx::TensorView<double>(grad.data(), shape).ref(),
                                           {.reduction = smx::Reduction::kNone, .label_smoothing = eps})
                      .ok());
      const std::string label = "C=" + std::to_string(c) + " eps " + std::to_string(eps) + " " + tag();
      if (eps > 0 && c > 1) {
        EXPECT_EQ(loss[0], std::numeric_limits<double>::infinity()) << label;  // mass on -inf
        want_loss[0] = loss[0];
      }
      EXPECT_TRUE(MatchesRel(label + " loss", loss, want_loss, 1e-14, 0));
      EXPECT_TRUE(MatchesRel(label + " grad", grad, want_grad, 1e-13, 1e-16));
    }
  }
}

void DistillRef(const std::vector<ld>& s, const std::vector<ld>& t, std::size_t n, std::size_t c,
                ld temp, ld& loss, std::vector<ld>& grad) {
  loss = 0;
  grad.assign(n * c, 0);
  for (std::size_t r = 0; r < n; ++r) {
    std::vector<ld> ss(c), ts(c);
    for (std::size_t k = 0; k < c; ++k) {
      ss[k] = s[r * c + k] / temp;
      ts[k] = t[r * c + k] / temp;
    }
    const std::vector<ld> lps = LogSoftmaxRef(ss.data(), c), lpt = LogSoftmaxRef(ts.data(), c);
    for (std::size_t k = 0; k < c; ++k) {
      const ld pt = std::exp(lpt[k]);
      if (pt > 0) loss += pt * (lpt[k] - lps[k]);
      grad[r * c + k] = temp / n * (std::exp(lps[k]) - pt);
    }
  }
  loss *= temp * temp / n;
}

TEST_P(Losses, Distillation) {
  std::mt19937_64 rng(23);
  const std::size_t n = 3, c = 21;
  for (const double temp : {0.5, 1.0, 4.0}) {
    for (const double spread : {3.0, 1e-3}) {
      // spread 1e-3: a student close to its teacher, whose KL (~1e-7) is far below its terms.
      const std::vector<float> t = RandomNormal<float>(rng, n * c, 0, 3);
      std::vector<float> s = t;
      for (auto& v : s) v += static_cast<float>(std::normal_distribution<double>(0, spread)(rng));
      s[1] = t[1];
      std::vector<float> tm = t;
      tm[5] = -std::numeric_limits<float>::infinity();  // a masked teacher class: a 0 term
      ld want_loss;
      std::vector<ld> want_grad;
      DistillRef(WidenT(s), WidenT(tm), n, c, temp, want_loss, want_grad);
      float loss = -1;
      std::vector<float> grad(n * c);
      const std::int64_t shape[2] = {Size(n), Size(c)};
      ASSERT_TRUE(smx::kl_div_distill(smx::TensorView<const float>(s.data(), shape).ref(),
                                      smx::TensorView<const float>(tm.data(), shape).ref(),
                                      smx::TensorView<float>(&loss, {}).ref(),
                                      smx::TensorView<float>(grad.data(), shape).ref(),
                                      {.temperature = temp})
                      .ok());
      const std::string label = "T " + std::to_string(temp) + " spread " + std::to_string(spread) + " " + tag();
      EXPECT_TRUE(MatchesRel(label + " loss", std::vector<float>{loss}, {want_loss}, 1e-5, 0));
      EXPECT_TRUE(MatchesRel(label + " grad", grad, want_grad, 1e-5, 1e-12));
      // The student equal to the teacher: exactly 0.
      ASSERT_TRUE(smx::kl_div_distill(smx::TensorView<const float>(tm.data(), shape).ref(),
                                      smx::TensorView<const float>(tm.data(), shape).ref(),
                                      smx::TensorView<float>(&loss, {}).ref(),
                                      smx::TensorView<float>(grad.data(), shape).ref(),
                                      {.temperature = temp})
                      .ok());
      EXPECT_EQ(loss, 0.0f) << label;
      for (const float g : grad) ASSERT_EQ(g, 0.0f) << label;
    }
  }
}

// A confident f64 row with a one-hot probability target: its loss of ~1e-16 keeps its digits
// (the entries at the max are kept out of the sum, as with class indices).
TEST_P(Losses, ProbabilityTargetsConfidentF64) {
  const std::vector<double> z = {0.0, -37.0, -38.5, -40.0};
  const std::vector<double> p = {1.0, 0.0, 0.0, 0.0};
  std::vector<ld> want_loss, want_grad;
  ProbsRef(Widen(z), Widen(p), 1, z.size(), 0.0, want_loss, want_grad);
  ASSERT_GT(want_loss[0], 0);
  double loss = 0;
  const std::int64_t shape[2] = {1, 4};
  ASSERT_TRUE(smx::cross_entropy_probs(smx::TensorView<const double>(z.data(), shape).ref(),
                                       smx::TensorView<const double>(p.data(), shape).ref(),
                                       smx::TensorView<double>(&loss, {}).ref())
                  .ok());
  EXPECT_TRUE(MatchesRel("confident f64 " + tag(), std::vector<double>{loss}, want_loss, 1e-12, 0));
}

// The KL of f64 rows close to each other (delta = 1e-4 and 1e-7: KL ~ 1e-9 and 1e-15) against a
// long-double reference in a form without cancellation (log sum pt e^(u - mean u) as log1p of
// positive terms): the terms' difference alone would keep u/delta^2 of it.
TEST_P(Losses, DistillationCloseF64) {
  std::mt19937_64 rng(31);
  const std::size_t n = 3, c = 50;
  for (const double delta : {1e-4, 1e-7}) {
    const std::vector<double> t = RandomNormal<double>(rng, n * c, 0, 2);
    std::vector<double> s = t;
    for (auto& v : s) v += std::normal_distribution<double>(0, delta)(rng);
    const double temp = 1.5;
    ld want = 0;
    for (std::size_t r = 0; r < n; ++r) {
      ld mt = -kLdInf;
      for (std::size_t k = 0; k < c; ++k) mt = std::fmax(mt, ld(t[r * c + k]));
      std::vector<ld> pt(c), u(c);
      ld st = 0;
      for (std::size_t k = 0; k < c; ++k) {
        pt[k] = std::exp((ld(t[r * c + k]) - mt) / temp);
        st += pt[k];
        u[k] = (ld(s[r * c + k]) - ld(t[r * c + k])) / temp;  // exact differences
      }
      ld mean = 0;
      for (std::size_t k = 0; k < c; ++k) mean += pt[k] / st * u[k];
      ld excess = 0;  // sum pt (e^v - 1 - v), v = u - mean, by its series for small v
      for (std::size_t k = 0; k < c; ++k) {
        const ld v = u[k] - mean;
        ld term = v * v / 2, phi = 0;
        for (int j = 3; j < 30 && term != 0; ++j) {
          phi += term;
          term *= v / j;
        }
        excess += pt[k] / st * phi;
      }
      want += std::log1p(excess);
    }
    want *= temp * temp / n;
    double loss = 0;
    const std::int64_t shape[2] = {Size(n), Size(c)};
    ASSERT_TRUE(smx::kl_div_distill(smx::TensorView<const double>(s.data(), shape).ref(),
                                    smx::TensorView<const double>(t.data(), shape).ref(),
                                    smx::TensorView<double>(&loss, {}).ref(), {.temperature = temp})
                    .ok());
    EXPECT_TRUE(MatchesRel("KL close, delta " + std::to_string(delta) + " " + tag(),
                           std::vector<double>{loss}, {want}, 1e-13, 0));
  }
}

// f32 probability targets run on the vector kernels (f64 lanes): the same reference, at f32's
// precision, with weights and smoothing, over lengths that cross the vector boundaries.
TEST_P(Losses, ProbabilityTargetsF32) {
  std::mt19937_64 rng(29);
  for (const std::size_t c : {1, 2, 7, 8, 9, 33, 100}) {
    const std::size_t n = 3;
    const std::vector<float> z = RandomNormal<float>(rng, n * c, 0, 3);
    std::vector<float> p = RandomUniform<float>(rng, n * c, 0, 1);
    for (std::size_t r = 0; r < n; ++r) {
      float s = 0;
      for (std::size_t k = 0; k < c; ++k) s += p[r * c + k];
      for (std::size_t k = 0; k < c; ++k) p[r * c + k] /= s;
    }
    const double eps = 0.1;
    std::vector<ld> want_loss, want_grad;
    ProbsRef(WidenT(z), WidenT(p), n, c, eps, want_loss, want_grad);
    std::vector<float> loss(n), grad(n * c);
    const std::int64_t shape[2] = {Size(n), Size(c)}, ls[1] = {Size(n)};
    ASSERT_TRUE(smx::cross_entropy_probs(smx::TensorView<const float>(z.data(), shape).ref(),
                                         smx::TensorView<const float>(p.data(), shape).ref(),
                                         smx::TensorView<float>(loss.data(), ls).ref(),
                                         smx::TensorView<float>(grad.data(), shape).ref(),
                                         {.reduction = smx::Reduction::kNone, .label_smoothing = eps})
                    .ok());
    const std::string label = "f32 C=" + std::to_string(c) + " " + tag();
    EXPECT_TRUE(MatchesRel(label + " loss", loss, want_loss, 1e-6, 1e-12));
    EXPECT_TRUE(MatchesRel(label + " grad", grad, want_grad, 1e-6, 1e-12));
  }
}

// Whole rows at the edges: a fully masked teacher row (pt = 0: no loss, grad (T/N) ps), a fully
// masked student row (ps = 0: +inf, grad -(T/N) pt), a NaN row (NaN, and only that row).
TEST_P(Losses, DistillationEdgeRows) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::size_t c = 3;
  const std::vector<float> s = {1, 2, 3, -inf, -inf, -inf, 1, 2, 3, 0, std::nanf(""), 1};
  const std::vector<float> t = {-inf, -inf, -inf, 1, 2, 3, 3, 2, 1, 0, 0, 0};
  std::vector<float> grad(12);
  float loss = 0;
  const std::int64_t shape[2] = {4, Size(c)}, two[2] = {2, Size(c)};
  ASSERT_TRUE(smx::kl_div_distill(smx::TensorView<const float>(s.data(), shape).ref(),
                                  smx::TensorView<const float>(t.data(), shape).ref(),
                                  smx::TensorView<float>(&loss, {}).ref(),
                                  smx::TensorView<float>(grad.data(), shape).ref(), {.temperature = 2})
                  .ok());
  EXPECT_TRUE(std::isnan(loss)) << tag();
  const double e1 = std::exp(-0.5), e2 = std::exp(-1.0);  // softmax([1, 2, 3] / 2)
  const double ps[3] = {e2 / (1 + e1 + e2), e1 / (1 + e1 + e2), 1 / (1 + e1 + e2)};
  for (std::size_t k = 0; k < c; ++k) {
    EXPECT_NEAR(grad[k], 2.0 / 4 * ps[k], 1e-7) << tag() << " masked teacher " << k;
    EXPECT_NEAR(grad[c + k], -2.0 / 4 * ps[k], 1e-7) << tag() << " masked student " << k;
    EXPECT_TRUE(std::isnan(grad[3 * c + k])) << tag();
  }
  // Without the NaN row: the masked student's +inf.
  ASSERT_TRUE(smx::kl_div_distill(smx::TensorView<const float>(s.data(), two).ref(),
                                  smx::TensorView<const float>(t.data(), two).ref(),
                                  smx::TensorView<float>(&loss, {}).ref(), {.temperature = 2})
                  .ok());
  EXPECT_EQ(loss, inf) << tag();
}

SMX_INSTANTIATE_TARGETS(Losses);

// ---- Errors and threads (dispatch does not matter) -------------------------------------------

TEST(LossErrors, BadArgumentsNameTheProblem) {
  std::vector<float> z(12, 0.5f), g(12), wrong(10);
  float loss = 0;
  const std::int64_t s34[2] = {3, 4}, s25[2] = {2, 5}, w3[1] = {3};
  const smx::TensorView<const float> zv(z.data(), s34);
  const smx::TensorView<float> lv(&loss, {}), gv(g.data(), s34);
  std::vector<std::int64_t> target = {0, 7, 1};
  smx::Status s = smx::cross_entropy(zv, target, lv, gv);
  EXPECT_NE(Message(s).find("target[1] = 7 is outside [0, 4) and is not ignore_index (-100)"),
            std::string::npos) << Message(s);
  EXPECT_EQ(g[0], 0.0f) << "nothing may be written on error";
  target = {0, -1, 1};
  EXPECT_NE(Message(smx::cross_entropy(zv, target, lv, gv)).find("target[1] = -1"), std::string::npos);
  target = {0, 1};
  EXPECT_NE(Message(smx::cross_entropy(zv, target, lv, gv)).find("target has 2 entries"),
            std::string::npos);
  target = {0, 1, 2};
  s = smx::cross_entropy(zv, target, lv, gv, {.label_smoothing = 1.5});
  EXPECT_NE(Message(s).find("label_smoothing must be in [0, 1], got 1.5"), std::string::npos) << Message(s);
  s = smx::cross_entropy(zv, target, lv, gv, {.label_smoothing = std::nan("")});
  EXPECT_NE(Message(s).find("label_smoothing"), std::string::npos);
  std::vector<float> w(3, 1.0f);
  s = smx::cross_entropy(zv, target, lv, gv, {.weight = smx::TensorView<const float>(w.data(), w3).ref()});
  EXPECT_NE(Message(s).find("weight must have shape [4] (one per class), got [3]"), std::string::npos)
      << Message(s);
  s = smx::cross_entropy(zv, target, smx::TensorView<float>(g.data(), {3}), gv);
  EXPECT_NE(Message(s).find("reduction 'mean' writes one loss value"), std::string::npos) << Message(s);
  s = smx::cross_entropy(zv, target, lv, smx::TensorView<float>(wrong.data(), s25));
  EXPECT_NE(Message(s).find("grad shape [2, 5] differs from the logits' shape [3, 4]"), std::string::npos)
      << Message(s);
  const std::int64_t strides[2] = {1, 3};
  s = smx::cross_entropy(zv, target, lv, smx::TensorView<float>(z.data(), s34, strides));
  EXPECT_NE(Message(s).find("in place needs the logits' own layout"), std::string::npos) << Message(s);
  // A gradient that overlaps an input without being it: an error, nothing written.
  std::vector<float> shared(13, 0.5f);
  const smx::TensorView<const float> zs(shared.data(), s34);
  s = smx::cross_entropy(zs, target, lv, smx::TensorView<float>(shared.data() + 1, s34));
  EXPECT_NE(Message(s).find("cross_entropy: grad overlaps the logits without being the same view"),
            std::string::npos)
      << Message(s);
  EXPECT_EQ(shared[12], 0.5f) << "nothing may be written on error";
  s = smx::cross_entropy_probs(zv.ref(), zs.ref(), lv.ref(),
                               smx::TensorView<float>(shared.data() + 1, s34).ref());
  EXPECT_NE(Message(s).find("cross_entropy_probs: grad overlaps target"), std::string::npos)
      << Message(s);
  s = smx::kl_div_distill(zv.ref(), zs.ref(), lv.ref(),
                          smx::TensorView<float>(shared.data() + 1, s34).ref());
  EXPECT_NE(Message(s).find("kl_div_distill: grad overlaps teacher"), std::string::npos)
      << Message(s);
  // The same view is in place, for either input.
  EXPECT_TRUE(smx::cross_entropy_probs(zv.ref(), zs.ref(), lv.ref(),
                                       smx::TensorView<float>(shared.data(), s34).ref())
                  .ok());
  double dl = 0;
  s = smx::cross_entropy(zv.ref(), target, smx::TensorView<double>(&dl, {}).ref());
  EXPECT_NE(Message(s).find("loss is f64 but the logits are f32"), std::string::npos) << Message(s);
  s = smx::kl_div_distill(zv.ref(), smx::TensorView<const float>(wrong.data(), s25).ref(), lv.ref(),
                          {.temperature = 2});
  EXPECT_NE(Message(s).find("teacher shape [2, 5] differs"), std::string::npos) << Message(s);
  s = smx::kl_div_distill(zv.ref(), zv.ref(), lv.ref(), {.temperature = 0});
  EXPECT_NE(Message(s).find("temperature must be finite and > 0, got 0"), std::string::npos) << Message(s);
  s = smx::cross_entropy_probs(zv.ref(), zv.ref(), lv.ref(), {.reduction = smx::Reduction::kNone});
  EXPECT_NE(Message(s).find("shape"), std::string::npos) << Message(s);
  smx::Reduction r;
  EXPECT_FALSE(smx::parse_reduction("average", r));
  EXPECT_TRUE(smx::parse_reduction("sum", r) && r == smx::Reduction::kSum);
}

}  // namespace
}  // namespace smx_test
