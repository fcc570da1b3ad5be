// The C++ API of smx (smx/smx.hpp): softmax of one row, log_softmax with a temperature over a
// [rows, K] block, softmax over the middle axis of a 3-d view, sampling a token per row, and the
// error path. Exits 0 only if
// every result is the expected one.
//
// Build it against an installed smx with this folder's CMakeLists.txt:
//   cmake -S examples/cpp -B build-example -DCMAKE_PREFIX_PATH=<smx prefix> && cmake --build ...
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "smx/smx.hpp"

namespace {

bool Near(double got, double want, double tolerance) { return std::fabs(got - want) <= tolerance; }

bool Report(const char* what, const smx::Status& s) {
  if (!s.ok()) std::fprintf(stderr, "%s: %s\n", what, s.message().c_str());
  return s.ok();
}

}  // namespace

int main() {
  bool ok = true;
  std::printf("smx %s (%s)\n", smx::version(), smx::simd_target());

  // One row.
  const std::vector<float> z = {2, 1, 0.5f};
  std::vector<float> y(3);
  if (!Report("softmax", smx::softmax(std::span<const float>(z), std::span<float>(y)))) return 1;
  std::printf("softmax([2, 1, 0.5]) = [%.7f, %.7f, %.7f]\n", y[0], y[1], y[2]);
  const double expected[3] = {0.6285317192117624, 0.23122389762214907, 0.14024438316608848};
  for (int i = 0; i < 3; ++i) ok &= Near(y[i], expected[i], 1e-6);

  // log_softmax of a [2, 3] block at temperature 0.5: z / 0.5 - logsumexp(z / 0.5) per row.
  const std::vector<double> x = {2, 1, 0.5, -1, 0, 1};
  std::vector<double> log_p(x.size());
  if (!Report("log_softmax",
              smx::log_softmax(x.data(), log_p.data(), 2, 3, {.temperature = 0.5}))) {
    return 1;
  }
  for (int r = 0; r < 2; ++r) {
    const double* row = &x[3 * r];
    const double lse =
        std::log(std::exp(row[0] / 0.5) + std::exp(row[1] / 0.5) + std::exp(row[2] / 0.5));
    std::printf("log_softmax(row %d / 0.5) = [%.15f, %.15f, %.15f]\n", r, log_p[3 * r],
                log_p[3 * r + 1], log_p[3 * r + 2]);
    for (int c = 0; c < 3; ++c) ok &= Near(log_p[3 * r + c], row[c] / 0.5 - lse, 1e-14);
  }

  // softmax over axis 1 of a [2, 3, 2] tensor: every (i, k) column sums to 1.
  const std::int64_t shape[3] = {2, 3, 2};
  std::vector<float> t(12), s(12);
  for (int i = 0; i < 12; ++i) t[i] = 0.25f * static_cast<float>(i % 5);
  if (!Report("softmax axis 1",
              smx::softmax(smx::TensorView<const float>(t.data(), shape),
                           smx::TensorView<float>(s.data(), shape), {.axis = 1}))) {
    return 1;
  }
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 2; ++k) {
      double sum = 0;
      for (int j = 0; j < 3; ++j) sum += s[6 * i + 2 * j + k];
      std::printf("sum over axis 1 at (%d, :, %d) = %.7f\n", i, k, sum);
      ok &= Near(sum, 1.0, 1e-6);
    }
  }

  // One token per row of a [2, 3] block of logits: nucleus sampling (top-p 0.9), reproducible
  // by seed and step; row 1 at T = 0 is greedy. The filter gives the distribution drawn from.
  const std::vector<float> logits = {2, 1, 0.5f, -1, 3, 0};
  const std::vector<double> temperatures = {0.7, 0.0};
  std::vector<std::int64_t> tokens(2);
  smx::SamplingOptions options;
  options.temperature = temperatures;
  options.top_p = 0.9;
  options.seed = 42;
  const smx::ConstTensorRef batch = smx::TensorView<const float>(logits.data(), {2, 3}).ref();
  if (!Report("sample", smx::sample(batch, tokens, options))) return 1;
  std::vector<float> filtered(6);
  if (!Report("top_k_top_p_filter",
              smx::top_k_top_p_filter(batch, smx::TensorView<float>(filtered.data(), {2, 3}).ref(),
                                      smx::FilterOutput::kProbabilities, options))) {
    return 1;
  }
  std::printf("sampled tokens: %lld %lld\n", static_cast<long long>(tokens[0]),
              static_cast<long long>(tokens[1]));
  ok &= tokens[1] == 1;                                              // greedy: the 3
  ok &= tokens[0] >= 0 && tokens[0] < 3 && filtered[tokens[0]] > 0;  // a survivor of row 0
  ok &= Near(filtered[0] + filtered[1] + filtered[2], 1.0, 1e-6);

  // A bad call: axis 3 of a 3-d tensor. The Status names the value.
  const smx::Status bad = smx::softmax(smx::TensorView<const float>(t.data(), shape),
                                       smx::TensorView<float>(s.data(), shape), {.axis = 3});
  std::printf("axis 3: %s\n", bad.message().c_str());
  ok &= bad.code() == smx::StatusCode::kInvalidArgument &&
        bad.message().find("axis 3") != std::string::npos;

  std::printf("%s\n", ok ? "all results as expected" : "UNEXPECTED RESULTS");
  return ok ? 0 : 1;
}
