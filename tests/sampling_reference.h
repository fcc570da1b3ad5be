// The filtered distribution of smx/sampling.h computed plainly in long double, from the
// definitions: every token ordered by (higher logit, lower index), the filters applied in that
// order. The tests compare smx's filter, draws and log-probabilities with it.
#ifndef SMX_TESTS_SAMPLING_REFERENCE_H_
#define SMX_TESTS_SAMPLING_REFERENCE_H_

#include <cstdint>
#include <vector>

namespace smx_test {

struct SamplingParams {
  double temperature = 1;
  std::int64_t top_k = 0;
  double top_p = 1;
  double min_p = 0;
};

// The probability of every token after the filters (0 for the removed ones), and the unfiltered
// softmax(z / T) in `raw` (when not null).
std::vector<long double> FilteredDistribution(const std::vector<double>& z, const SamplingParams& p,
                                              std::vector<long double>* raw = nullptr);

// Pearson's chi-square statistic of observed counts against probabilities (bins with expected
// count below 5 merged), and its degrees of freedom.
struct ChiSquare {
  double statistic = 0;
  int degrees_of_freedom = 0;
  // The statistic's critical value at significance 1e-6 (Wilson-Hilferty).
  double Critical() const;
};
ChiSquare ChiSquareOf(const std::vector<std::int64_t>& counts,
                      const std::vector<long double>& probabilities);

}  // namespace smx_test

#endif  // SMX_TESTS_SAMPLING_REFERENCE_H_
