#include "explain_attention.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace smx_cli {
namespace {

// Long double keeps the textbook steps well below the library's error bound.
using Real = long double;
constexpr Real kMinusInfinity = -HUGE_VALL;

std::string Num(double value) { return ExplainNumber(value); }

// "[begin, end)". Appended piece by piece: GCC 12 warns of a false overlap (-Wrestrict, bug
// 105651) in "[" + std::to_string(...).
std::string Range(std::size_t begin, std::size_t end) {
  std::string range = "[";
  range += std::to_string(begin);
  range += ", ";
  range += std::to_string(end);
  return range + ")";
}

// Whether query `row.query` attends key j: the causal rule and a boolean mask select keys.
bool Attends(const AttentionRow& row, std::size_t j) {
  if (!row.attends.empty() && !row.attends[j]) return false;
  if (!row.causal) return true;
  const auto lk = static_cast<std::int64_t>(row.keys.size());
  const std::int64_t last = row.alignment == smx::CausalAlignment::kTopLeft
                                ? row.query
                                : row.query + lk - row.num_queries;
  return static_cast<std::int64_t>(j) <= last;
}

// Whether the row reads key j at all: a key left out (above, or by an additive -inf) is never read,
// so a NaN in its key or value does not reach the output (attention.h).
bool Selected(const AttentionRow& row, std::size_t j) {
  return Attends(row, j) && (row.additive.empty() || row.additive[j] != -INFINITY);
}

// The scores of the attended keys (-inf for the others), each option's step shown as it applies.
std::vector<Real> ExplainScores(const AttentionRow& row, Explanation* e) {
  const std::size_t lk = row.keys.size();
  std::vector<Real> s(lk);
  for (std::size_t j = 0; j < lk; ++j) {
    Real dot = 0;
    for (std::size_t c = 0; c < row.q.size(); ++c) {
      dot += static_cast<Real>(row.q[c]) * static_cast<Real>(row.keys[j][c]);
    }
    s[j] = row.scale * dot;
  }
  e->steps.push_back(RowStep(
      "Score every key: the query's dot product with it, scaled",
      "s_j = scale (q · k_j), scale = " + Num(row.scale), ToDoubles(s),
      "A key that points the way the query does scores high. The default scale 1/sqrt(d) keeps "
      "the scores' spread the same for any head size d, so that softmax does not saturate."));
  if (row.softcap > 0) {
    for (Real& v : s) v = row.softcap * std::tanh(v / row.softcap);
    e->steps.push_back(RowStep("Cap them softly", "s_j = c tanh(s_j / c), c = " + Num(row.softcap),
                               ToDoubles(s), "Scores stay within (-c, c) (Gemma 2)."));
  }
  if (row.alibi_slope) {
    const auto shift = static_cast<std::int64_t>(lk) - row.num_queries + row.query;
    for (std::size_t j = 0; j < lk; ++j) {
      s[j] -= *row.alibi_slope * std::llabs(shift - static_cast<std::int64_t>(j));
    }
    e->steps.push_back(RowStep("Subtract the ALiBi distance penalty",
                               "s_j -= slope |i + Lk - Lq - j|, slope = " + Num(*row.alibi_slope),
                               ToDoubles(s), "Far keys weigh less, by their distance."));
  }
  if (!row.additive.empty()) {
    for (std::size_t j = 0; j < lk; ++j)
      s[j] = Selected(row, j) ? s[j] + row.additive[j] : kMinusInfinity;
    e->steps.push_back(RowStep("Add the mask", "s_j += mask_j", ToDoubles(s)));
  }
  if (row.causal || !row.attends.empty()) {
    std::vector<double> kept;
    for (std::size_t j = 0; j < lk; ++j) {
      kept.push_back(Attends(row, j) ? 1 : 0);
      if (!Attends(row, j)) s[j] = kMinusInfinity;
    }
    e->steps.push_back(RowStep("Leave out the keys the query may not see", "a_j", kept,
                               row.causal ? "Causal: query i sees key j only if j <= i (top "
                                            "left), or j <= i + Lk - Lq (lower right). A key "
                                            "left out weighs exactly 0."
                                          : "The boolean mask's false entries weigh exactly 0."));
  }
  return s;
}

// The running state of the online softmax: max m, sum l, output o (not yet divided by l).
struct Running {
  Real m = kMinusInfinity;
  Real l = 0;
  std::vector<Real> o;
};

// Adds keys [begin, end) to `run`, rescaling what it held to the new max.
void AddBlock(const AttentionRow& row, const std::vector<Real>& s, std::size_t begin,
              std::size_t end, Running* run) {
  Real m = run->m;
  for (std::size_t j = begin; j < end; ++j) m = std::max(m, s[j]);
  // Nothing was added before a finite max: 0, not exp(-inf - -inf) = NaN.
  const Real rescale = run->l == 0 ? 0 : std::exp(run->m - m);
  run->l *= rescale;
  for (Real& v : run->o) v *= rescale;
  for (std::size_t j = begin; j < end && m != kMinusInfinity; ++j) {
    if (s[j] == kMinusInfinity) continue;  // left out: its value is never read
    const Real w = std::exp(s[j] - m);
    run->l += w;
    for (std::size_t c = 0; c < run->o.size(); ++c) run->o[c] += w * row.values[j][c];
  }
  run->m = m;
}

// The online softmax: a few blocks of keys, each folded into m, l and o.
Running ExplainOnlineSoftmax(const AttentionRow& row, const std::vector<Real>& s, Explanation* e) {
  const std::size_t lk = row.keys.size();
  Running run;
  run.o.assign(row.values.empty() ? 0 : row.values[0].size(), 0);
  if (row.sink) {
    run.m = *row.sink;
    run.l = 1;
    e->steps.push_back(NumberStep("Start from the sink", "m = sink, l = exp(sink - m) = 1",
                                  static_cast<double>(run.m),
                                  "The sink is one more logit in the denominator, with no value: "
                                  "it can absorb attention the keys do not need."));
  }
  const std::size_t block = std::max<std::size_t>(1, (lk + 2) / 3);  // two or three blocks
  for (std::size_t begin = 0; begin < lk; begin += block) {
    const std::size_t end = std::min(lk, begin + block);
    const Real previous = run.m;
    AddBlock(row, s, begin, end, &run);
    const std::string keys = "keys " + Range(begin, end);
    const bool first = begin == 0;
    e->steps.push_back(NumberStep(
        "Online softmax, " + keys + ": the running max", "m = max(m, max_j s_j)",
        static_cast<double>(run.m),
        first ? "The scores are never stored: each block of keys updates a running max m, a sum "
                "l and an output o, and the block's scores are then forgotten."
              : ""));
    const std::string rescale = previous == kMinusInfinity || previous == run.m
                                    ? ""
                                    : " (the max moved: what was summed is scaled by exp(" +
                                          Num(static_cast<double>(previous)) + " - " +
                                          Num(static_cast<double>(run.m)) + "))";
    e->steps.push_back(NumberStep("Fold " + keys + " into the sum" + rescale,
                                  "l = l exp(m_old - m) + Σ_j exp(s_j - m)",
                                  static_cast<double>(run.l)));
    e->steps.push_back(RowStep("... and into the output",
                               "o = o exp(m_old - m) + Σ_j exp(s_j - m) v_j", ToDoubles(run.o)));
  }
  return run;
}

// The output at once, softmax(s) V, as a check of the online form.
std::vector<Real> DirectOutput(const AttentionRow& row, const std::vector<Real>& s) {
  Real m = row.sink ? static_cast<Real>(*row.sink) : kMinusInfinity;
  for (Real v : s) m = std::max(m, v);
  std::vector<Real> out(row.values.empty() ? 0 : row.values[0].size(), 0);
  if (m == kMinusInfinity) return out;
  Real total = row.sink ? std::exp(*row.sink - m) : 0;
  for (Real v : s) total += std::exp(v - m);
  for (std::size_t j = 0; j < s.size(); ++j) {
    if (s[j] == kMinusInfinity) continue;
    const Real p = std::exp(s[j] - m) / total;
    for (std::size_t c = 0; c < out.size(); ++c) out[c] += p * row.values[j][c];
  }
  return out;
}

// NaN or inf in the query, or in a key or value the row attends: the output is NaN (attention.h).
bool HasSpecialInput(const AttentionRow& row) {
  auto special = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [](double x) { return !std::isfinite(x); });
  };
  if (special(row.q)) return true;
  for (std::size_t j = 0; j < row.keys.size(); ++j) {
    if (Selected(row, j) && (special(row.keys[j]) || special(row.values[j]))) return true;
  }
  return false;
}

}  // namespace

Explanation ExplainAttention(const AttentionRow& row) {
  Explanation e;
  e.heading = "Attention for query " + std::to_string(row.query) +
              " of one head: " + std::to_string(row.keys.size()) + " keys of size " +
              std::to_string(row.q.size()) + ", values of size " +
              std::to_string(row.values.empty() ? 0 : row.values[0].size()) +
              ": out = softmax(scores) V, by the online softmax.";
  e.bound = Explanation::Bound::kAttention;
  e.steps.push_back(RowStep("The query", "q", row.q));
  const std::size_t dv = row.values.empty() ? 0 : row.values[0].size();
  if (HasSpecialInput(row)) {
    e.steps.push_back(RowStep("The query, or a key or value it attends, holds NaN or inf", "", {},
                              "The weighted sum is then undefined: smx makes the output row "
                              "NaN."));
    e.result.assign(dv, NAN);
    return e;
  }
  const std::vector<Real> s = ExplainScores(row, &e);
  const Running run = ExplainOnlineSoftmax(row, s, &e);
  std::vector<Real> out(dv, 0);
  if (run.l > 0) {
    for (std::size_t c = 0; c < dv; ++c) out[c] = run.o[c] / run.l;
  }
  e.steps.push_back(RowStep("Divide by the sum", "out = o / l", ToDoubles(out),
                            run.l > 0 ? "Each value v_j is weighted by p_j = exp(s_j - m) / l, "
                                        "the softmax of the scores."
                                      : "No key is left: smx defines the output as 0, never "
                                        "0/0 = NaN."));
  e.steps.push_back(RowStep("Check: softmax(s) V at once gives the same", "Σ_j p_j v_j",
                            ToDoubles(DirectOutput(row, s))));
  e.result = ToDoubles(out);
  return e;
}

}  // namespace smx_cli
