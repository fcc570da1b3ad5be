#include "sampling_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace smx_test {

std::vector<long double> FilteredDistribution(const std::vector<double>& z, const SamplingParams& p,
                                              std::vector<long double>* raw) {
  const std::size_t n = z.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return z[a] > z[b]; });
  const long double m = z[order[0]];
  std::vector<long double> w(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isinf(p.temperature)) {
      w[i] = std::isfinite(z[i]) ? 1 : 0;
    } else if (p.temperature > 0) {
      w[i] = std::exp((static_cast<long double>(z[i]) - m) / p.temperature);
    }
  }
  if (raw != nullptr) {
    const long double s = std::accumulate(w.begin(), w.end(), 0.0L);
    raw->assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) (*raw)[i] = w[i] / s;
  }
  std::vector<long double> out(n, 0);
  if (p.temperature == 0) {
    out[order[0]] = 1;
    return out;
  }
  std::size_t kept = 0;
  while (kept < n && z[order[kept]] > -std::numeric_limits<double>::infinity()) ++kept;
  if (p.top_k > 0) kept = std::min<std::size_t>(kept, static_cast<std::size_t>(p.top_k));
  if (p.top_p < 1) {
    long double total = 0;
    for (std::size_t r = 0; r < kept; ++r) total += w[order[r]];
    long double running = 0;
    for (std::size_t r = 0; r < kept; ++r) {
      running += w[order[r]];
      if (running >= p.top_p * total) {
        kept = r + 1;
        break;
      }
    }
  }
  long double total = 0;
  for (std::size_t r = 0; r < kept; ++r) {
    if (w[order[r]] >= p.min_p) total += w[order[r]];
  }
  for (std::size_t r = 0; r < kept; ++r) {
    if (w[order[r]] >= p.min_p) out[order[r]] = w[order[r]] / total;
  }
  return out;
}

double ChiSquare::Critical() const {
  const double k = degrees_of_freedom, z = 4.753;  // the upper 1e-6 point of N(0, 1)
  const double a = 2 / (9 * k);
  return k * std::pow(1 - a + z * std::sqrt(a), 3);
}

ChiSquare ChiSquareOf(const std::vector<std::int64_t>& counts,
                      const std::vector<long double>& probabilities) {
  long double draws = 0;
  for (std::int64_t c : counts) draws += static_cast<long double>(c);
  ChiSquare result;
  long double pooled_expected = 0, pooled_observed = 0;
  int bins = 0;
  auto add_bin = [&](long double observed, long double expected) {
    result.statistic +=
        static_cast<double>((observed - expected) * (observed - expected) / expected);
    ++bins;
  };
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const long double expected = probabilities[i] * draws;
    if (expected == 0) continue;
    if (expected < 5) {
      pooled_expected += expected;
      pooled_observed += static_cast<long double>(counts[i]);
      if (pooled_expected >= 5) {
        add_bin(pooled_observed, pooled_expected);
        pooled_expected = pooled_observed = 0;
      }
    } else {
      add_bin(static_cast<long double>(counts[i]), expected);
    }
  }
  if (pooled_expected > 0) add_bin(pooled_observed, pooled_expected);
  result.degrees_of_freedom = std::max(1, bins - 1);
  return result;
}

}  // namespace smx_test
