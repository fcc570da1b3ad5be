// Cross-entropy for the loss tests: long-double references from FORMAT.md's formulas, and a
// call of smx::cross_entropy on [n, c] logits (or transposed) with every gradient mode.
#ifndef SMX_TESTS_CROSS_ENTROPY_HARNESS_H_
#define SMX_TESTS_CROSS_ENTROPY_HARNESS_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "smx/losses.h"
#include "test_util.h"

namespace smx_test {

inline constexpr ld kLdInf = std::numeric_limits<ld>::infinity();

// ---- Long-double references, straight from FORMAT.md's formulas ----------------------------

// The library's chunk of long loss rows (losses/kernels.h: 64 KiB).
template <typename T>
constexpr std::size_t LossChunk() {
  return 65536 / sizeof(T);
}

struct CeSpec {
  smx::Reduction reduction = smx::Reduction::kMean;
  std::int64_t ignore_index = -100;
  double smoothing = 0;
  std::vector<double> weight;  // empty: 1
};

// log_softmax of a row; *p_minus_1 (when given) receives p_i - 1 for the max entries, formed from
// s - 1 without cancellation (else it is left alone).
inline std::vector<ld> LogSoftmaxRef(const ld* z, std::size_t c,
                                     std::vector<ld>* p_minus_1 = nullptr) {
  ld m = -kLdInf;
  for (std::size_t i = 0; i < c; ++i) m = std::fmax(m, z[i]);
  std::vector<ld> lp(c);
  if (m == -kLdInf) {
    for (auto& v : lp) v = -kLdInf;
    if (p_minus_1 != nullptr) p_minus_1->assign(c, -1);
    return lp;
  }
  // log s = log1p(s - 1), with s - 1 summed apart from the max's 1 (even in long double, 1 + 1e-13
  // keeps only 6 digits of the 1e-13 that is a confident row's whole loss).
  ld s_minus_1 = -1;
  for (std::size_t i = 0; i < c; ++i) s_minus_1 += z[i] == m ? ld(1) : 0;
  for (std::size_t i = 0; i < c; ++i) s_minus_1 += z[i] == m ? ld(0) : std::exp(z[i] - m);
  const ld log_s = std::log1p(s_minus_1);
  if (p_minus_1 != nullptr) {
    p_minus_1->assign(c, 0);
    for (std::size_t i = 0; i < c; ++i) {
      (*p_minus_1)[i] = z[i] == m ? -s_minus_1 / (1 + s_minus_1) : std::exp((z[i] - m) - log_s) - 1;
    }
  }
  for (std::size_t i = 0; i < c; ++i) lp[i] = (z[i] - m) - log_s;
  return lp;
}

// Cross-entropy with class indices: the loss ([n] for kNone, else one value) and the gradient.
inline void CrossEntropyRef(const std::vector<ld>& z, std::size_t n, std::size_t c,
                            const std::vector<std::int64_t>& target, const CeSpec& spec,
                            std::vector<ld>& loss, std::vector<ld>& grad) {
  auto w = [&](std::size_t k) { return spec.weight.empty() ? ld(1) : ld(spec.weight[k]); };
  ld weight_sum = 0, divisor = 0, total = 0;
  for (std::size_t k = 0; k < c; ++k) weight_sum += w(k);
  const ld eps = spec.smoothing, eps_c = eps / ld(c);
  std::vector<ld> row_loss(n, 0);
  grad.assign(n * c, 0);
  for (std::size_t r = 0; r < n; ++r) {
    const std::int64_t t = target[r];
    if (t == spec.ignore_index) continue;
    divisor += w(t);
    std::vector<ld> p_minus_1;
    const std::vector<ld> lp = LogSoftmaxRef(&z[r * c], c, &p_minus_1);
    ld l = (1 - eps) * w(t) == 0 ? 0 : (1 - eps) * -w(t) * lp[t];
    for (std::size_t k = 0; k < c && eps > 0; ++k) {
      if (w(k) != 0) l += eps_c * -w(k) * lp[k];
    }
    row_loss[r] = l;
    total += l;
    for (std::size_t k = 0; k < c; ++k) {
      const ld p = std::exp(lp[k]);
      const ld p_minus_onehot = ld(k) == ld(t) ? p_minus_1[k] : p;
      grad[r * c + k] = (1 - eps) * w(t) * p_minus_onehot + eps_c * (weight_sum * p - w(k));
    }
  }
  if (spec.reduction == smx::Reduction::kNone) {
    loss = row_loss;
  } else if (spec.reduction == smx::Reduction::kSum) {
    loss = {total};
  } else {
    loss = {total / divisor};
    for (auto& g : grad) g /= divisor;
  }
}

// ---- Running the library ---------------------------------------------------------------------

inline std::int64_t Size(std::size_t n) { return static_cast<std::int64_t>(n); }

template <typename T>
struct CeResult {
  smx::Status status;
  std::vector<T> loss, grad;
};

// Logits [n, c] (or transposed: stored [c, n] with axis 0); grad out of place, in place, or none.
enum class GradMode { kNone, kOutOfPlace, kInPlace };

template <typename T>
CeResult<T> RunCrossEntropy(const std::vector<T>& z, std::size_t n, std::size_t c,
                            const std::vector<std::int64_t>& target, const CeSpec& spec,
                            GradMode mode, bool transposed = false) {
  CeResult<T> out;
  std::vector<T> x = z;
  if (transposed) {
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t k = 0; k < c; ++k) x[k * n + r] = z[r * c + k];
    }
  }
  const std::int64_t nc[2] = {Size(n), Size(c)}, cn[2] = {Size(c), Size(n)}, n1[1] = {Size(n)};
  const std::int64_t* shape = transposed ? cn : nc;
  std::vector<T> w = Cast<T>(spec.weight);
  const std::int64_t wshape[1] = {Size(c)};
  smx::CrossEntropyOptions o{.reduction = spec.reduction,
                             .ignore_index = spec.ignore_index,
                             .label_smoothing = spec.smoothing,
                             .axis = transposed ? 0 : -1};
  if (!w.empty()) o.weight = smx::TensorView<const T>(w.data(), wshape).ref();
  const bool none = spec.reduction == smx::Reduction::kNone;
  out.loss.assign(none ? n : 1, T(-777));
  const smx::TensorView<T> loss_view =
      none ? smx::TensorView<T>(out.loss.data(), n1) : smx::TensorView<T>(out.loss.data(), {});
  const smx::TensorView<const T> logits(x.data(), std::span<const std::int64_t>(shape, 2));
  std::vector<T> g(x.size(), T(-555));
  if (mode == GradMode::kNone) {
    out.status = smx::cross_entropy(logits, target, loss_view, o);
  } else {
    T* gp = mode == GradMode::kInPlace ? x.data() : g.data();
    out.status =
        smx::cross_entropy(logits, target, loss_view,
                           smx::TensorView<T>(gp, std::span<const std::int64_t>(shape, 2)), o);
    if (mode == GradMode::kInPlace) g = x;
  }
  if (mode != GradMode::kNone) {
    out.grad.resize(n * c);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t k = 0; k < c; ++k) {
        out.grad[r * c + k] = transposed ? g[k * n + r] : g[r * c + k];
      }
    }
  }
  return out;
}

inline std::vector<ld> Widen(const std::vector<double>& v) { return {v.begin(), v.end()}; }

template <typename T>
std::vector<ld> WidenT(const std::vector<T>& v) {
  std::vector<ld> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = Elem<T>::Widen(v[i]);
  return out;
}

}  // namespace smx_test

#endif  // SMX_TESTS_CROSS_ENTROPY_HARNESS_H_
