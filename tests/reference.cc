#include "reference.h"

#include <cmath>
#include <limits>

namespace smx_test {
namespace {

using ld = long double;
constexpr ld kInf = std::numeric_limits<ld>::infinity();
constexpr ld kNaN = std::numeric_limits<ld>::quiet_NaN();

// Classification of a row by the contract's special-value rules.
struct RowClass {
  bool has_nan = false;
  bool has_pos_inf = false;
  std::size_t finite = 0;  // entries that are neither NaN nor +-inf
  ld max = -kInf;          // max over finite entries
};

RowClass Classify(const ld* z, std::size_t k) {
  RowClass c;
  for (std::size_t i = 0; i < k; ++i) {
    if (std::isnan(z[i])) {
      c.has_nan = true;
    } else if (z[i] == kInf) {
      c.has_pos_inf = true;
    } else if (z[i] != -kInf) {
      ++c.finite;
      if (z[i] > c.max) c.max = z[i];
    }
  }
  return c;
}

// Neumaier's compensated sum.
struct CompensatedSum {
  ld sum = 0, comp = 0;
  void Add(ld v) {
    const ld t = sum + v;
    if (std::fabs(sum) >= std::fabs(v)) {
      comp += (sum - t) + v;
    } else {
      comp += (v - t) + sum;
    }
    sum = t;
  }
  ld Value() const { return sum + comp; }
};

// d = (z - m)/T as hi + lo, with z - m by TwoSum and the division remainder by fmal (exact).
struct Shifted {
  ld hi, lo;
};
Shifted Shift(ld z, ld m, ld t) {
  const ld s = z - m;
  const ld bb = s - z;
  const ld r1 = (z - (s - bb)) + (-m - bb);  // TwoSum residual: z - m = s + r1 exactly
  if (t == 1) return {s, r1};
  const ld q = s / t;
  const ld r2 = std::fma(-q, t, s);  // s - q*t, exact
  return {q, (r2 + r1) / t};
}

}  // namespace

const char* OpName(Op op) {
  switch (op) {
    case Op::kSoftmax: return "softmax";
    case Op::kLogSoftmax: return "log_softmax";
    case Op::kLogSumExp: return "logsumexp";
  }
  return "?";
}

void ReferenceSoftmaxRow(const ld* z, std::size_t k, double temperature, ld* softmax_out,
                         ld* log_softmax_out) {
  const auto write = [&](std::size_t i, ld p, ld lp) {
    if (softmax_out) softmax_out[i] = p;
    if (log_softmax_out) log_softmax_out[i] = lp;
  };
  if (k == 0) return;
  const RowClass c = Classify(z, k);
  if (c.has_nan || c.has_pos_inf) {
    for (std::size_t i = 0; i < k; ++i) write(i, kNaN, kNaN);
    return;
  }
  if (c.finite == 0) {  // fully masked
    for (std::size_t i = 0; i < k; ++i) write(i, 0, -kInf);
    return;
  }
  const ld t = temperature;
  if (std::isinf(t)) {  // uniform over the finite entries
    const ld n = static_cast<ld>(c.finite);
    for (std::size_t i = 0; i < k; ++i) {
      if (z[i] == -kInf) {
        write(i, 0, -kInf);
      } else {
        write(i, 1 / n, -std::log(n));
      }
    }
    return;
  }
  std::size_t ties = 0;
  for (std::size_t i = 0; i < k; ++i) ties += (z[i] == c.max);
  const ld count = static_cast<ld>(ties);
  if (t == 0) {  // hardmax
    for (std::size_t i = 0; i < k; ++i) {
      if (z[i] == c.max) {
        write(i, 1 / count, -std::log(count));
      } else {
        write(i, 0, -kInf);
      }
    }
    return;
  }
  // exp(d_i) for the entries below the max; the max entries have d = 0 exactly.
  std::vector<ld> e(k, 0);
  std::vector<Shifted> d(k, Shifted{-kInf, 0});
  CompensatedSum rest;
  for (std::size_t i = 0; i < k; ++i) {
    if (z[i] == -kInf || z[i] == c.max) continue;
    d[i] = Shift(z[i], c.max, t);
    const ld hi = std::exp(d[i].hi);
    e[i] = hi + hi * d[i].lo;
    rest.Add(e[i]);
  }
  const ld r = rest.Value();
  const ld sum = count + r;
  const ld lse = std::log(count) + std::log1p(r / count);
  for (std::size_t i = 0; i < k; ++i) {
    if (z[i] == -kInf) {
      write(i, 0, -kInf);
    } else if (z[i] == c.max) {
      write(i, 1 / sum, -lse);
    } else {
      write(i, e[i] / sum, (d[i].hi - lse) + d[i].lo);
    }
  }
}

ld ReferenceLogSumExpRow(const ld* z, std::size_t k, ld* err) {
  if (err) *err = 0;
  if (k == 0) return -kInf;
  const RowClass c = Classify(z, k);
  if (c.has_nan) return kNaN;
  if (c.has_pos_inf) return kInf;
  if (c.finite == 0) return -kInf;
  std::size_t ties = 0;
  CompensatedSum rest;
  for (std::size_t i = 0; i < k; ++i) {
    if (z[i] == -kInf) continue;
    if (z[i] == c.max) {
      ++ties;
      continue;
    }
    const Shifted d = Shift(z[i], c.max, 1);
    const ld hi = std::exp(d.hi);
    rest.Add(hi + hi * d.lo);
  }
  const ld count = static_cast<ld>(ties);
  const ld l = std::log(count) + std::log1p(rest.Value() / count);
  const ld result = c.max + l;
  if (err) *err = std::ldexp(l, -61) + std::ldexp(std::fabs(result), -63);
  return result;
}

std::vector<ld> ReferenceAlongAxis(Op op, std::span<const ld> x,
                                   std::span<const std::int64_t> shape, int axis,
                                   double temperature, std::vector<ld>* err) {
  const int rank = static_cast<int>(shape.size());
  if (axis < 0) axis += rank;
  std::size_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= static_cast<std::size_t>(shape[i]);
  for (int i = axis + 1; i < rank; ++i) inner *= static_cast<std::size_t>(shape[i]);
  const std::size_t k = static_cast<std::size_t>(shape[axis]);
  const bool reduce = op == Op::kLogSumExp;
  std::vector<ld> out(reduce ? outer * inner : outer * k * inner);
  if (err) err->assign(out.size(), 0);
  std::vector<ld> row(k), res(k);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t in = 0; in < inner; ++in) {
      for (std::size_t j = 0; j < k; ++j) row[j] = x[(o * k + j) * inner + in];
      if (reduce) {
        ld e = 0;
        out[o * inner + in] = ReferenceLogSumExpRow(row.data(), k, &e);
        if (err) (*err)[o * inner + in] = e;
        continue;
      }
      if (op == Op::kSoftmax) {
        ReferenceSoftmaxRow(row.data(), k, temperature, res.data(), nullptr);
      } else {
        ReferenceSoftmaxRow(row.data(), k, temperature, nullptr, res.data());
      }
      for (std::size_t j = 0; j < k; ++j) out[(o * k + j) * inner + in] = res[j];
    }
  }
  return out;
}

std::vector<ld> ReferenceRows(Op op, std::span<const ld> x, std::size_t rows, std::size_t k,
                              double temperature, std::vector<ld>* err) {
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k)};
  return ReferenceAlongAxis(op, x, shape, 1, temperature, err);
}

}  // namespace smx_test
