#include "explain_sampling.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "explain_softmax.h"

namespace smx_cli {
namespace {

// Long double keeps the textbook steps well below the library's error bound.
using Real = long double;

std::string Num(double value) { return ExplainNumber(value); }

// The token ids as numbers, for a step's row.
std::vector<double> Ids(const std::vector<std::size_t>& ids) {
  return std::vector<double>(ids.begin(), ids.end());
}

// The tokens in sampling's order: the higher logit first, then the lower index; -inf logits
// (never drawn) left out.
std::vector<std::size_t> Order(std::span<const double> z) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < z.size(); ++i) {
    if (z[i] != -INFINITY) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return z[a] > z[b]; });
  return order;
}

// top-p over the survivors (a prefix of the order): the shortest prefix whose renormalised mass
// reaches top_p.
std::size_t TopPCount(const std::vector<std::size_t>& kept, const std::vector<Real>& p,
                      double top_p, std::vector<Real>* cumulative) {
  Real total = 0;
  for (std::size_t i : kept) total += p[i];
  Real running = 0;
  for (std::size_t n = 0; n < kept.size(); ++n) {
    running += p[kept[n]];
    cumulative->push_back(running / total);
    if (running / total >= top_p) return n + 1;
  }
  return kept.size();
}

// The survivors of top-k, top-p and min-p, in order, each filter's step shown as it applies.
std::vector<std::size_t> ExplainFilters(std::span<const double> z, const std::vector<Real>& p,
                                        const SamplingFilters& f, Explanation* e) {
  std::vector<std::size_t> kept = Order(z);
  e->steps.push_back(RowStep("Order the tokens: the higher logit first, then the lower index",
                             "token ids", Ids(kept),
                             "Every filter keeps a prefix of this order, so ties at a boundary "
                             "are broken by index. A -inf logit is never drawn."));
  const auto k = static_cast<std::size_t>(f.top_k);
  if (f.top_k > 0 && k < kept.size()) {
    kept.resize(k);
    e->steps.push_back(
        RowStep("top-k: keep the first k = " + std::to_string(k), "token ids", Ids(kept)));
  }
  if (f.top_p < 1) {
    std::vector<Real> cumulative;
    kept.resize(TopPCount(kept, p, f.top_p, &cumulative));
    e->steps.push_back(
        RowStep("top-p: renormalise over them and keep the shortest prefix whose "
                "mass reaches p = " +
                    Num(f.top_p),
                "running mass", ToDoubles(cumulative),
                "The token that crosses p is kept: " + std::to_string(kept.size()) + " survive."));
  }
  if (f.min_p > 0) {
    const Real p_max = p[kept.front()];
    std::erase_if(kept, [&](std::size_t i) { return p[i] < f.min_p * p_max; });
    e->steps.push_back(RowStep("min-p: keep p_i >= q p_max, q = " + Num(f.min_p), "token ids",
                               Ids(kept), "A token far less likely than the best one goes."));
  }
  return kept;
}

}  // namespace

Explanation ExplainSampling(std::span<const double> logits, const SamplingFilters& f) {
  const std::size_t v = logits.size();
  if (f.temperature == 0) {  // greedy: one token, whatever the filters
    Explanation e;
    e.heading = "Sampling from one row of " + std::to_string(v) + " logits, T = 0 (greedy):";
    e.steps.push_back(
        RowStep("The logits", "z", std::vector<double>(logits.begin(), logits.end())));
    const std::size_t best = Order(logits).front();
    e.steps.push_back(NumberStep("T = 0 is greedy: the highest logit, the lowest index among ties",
                                 "token", static_cast<double>(best),
                                 "The filters change nothing: the best token survives them all."));
    e.result.assign(v, 0);
    e.result[best] = 1;
    e.bound = Explanation::Bound::kRelative;
    return e;
  }
  Explanation e = ExplainSoftmax(logits, f.temperature);
  e.heading = "Sampling from one row of " + std::to_string(v) +
              " logits, T = " + Num(f.temperature) +
              ": p = softmax(z/T), then the filters, then one draw.";
  e.bound = Explanation::Bound::kRelative;
  const std::vector<Real> p(e.result.begin(), e.result.end());
  const std::vector<std::size_t> kept = ExplainFilters(logits, p, f, &e);
  Real total = 0;
  for (std::size_t i : kept) total += p[i];
  std::vector<Real> filtered(v, 0);
  for (std::size_t i : kept) filtered[i] = p[i] / total;
  e.steps.push_back(RowStep("Renormalise p over the survivors (0 elsewhere)",
                            "q_i = p_i / Σ_kept p", ToDoubles(filtered),
                            "The token is drawn from q with the row's own Philox random numbers "
                            "(seed, step, row id): the same inputs draw the same token."));
  e.result = ToDoubles(filtered);
  return e;
}

}  // namespace smx_cli
