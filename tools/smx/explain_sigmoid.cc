#include "explain_sigmoid.h"

#include <cmath>
#include <string>
#include <vector>

namespace smx_cli {
namespace {

// Long double keeps the textbook steps well below the library's error bound.
using Real = long double;

enum class Kind { kSigmoid, kLogSigmoid, kSoftplus };

const char* Name(Kind kind) {
  switch (kind) {
    case Kind::kSigmoid: return "sigmoid";
    case Kind::kLogSigmoid: return "log-sigmoid";
    case Kind::kSoftplus: return "softplus";
  }
  return "";
}

// The step that gives each op's result from t = exp(-|x|), indexed by Kind.
struct LastStep {
  const char* title;
  const char* formula;
  const char* why;
};

constexpr LastStep kLastSteps[] = {
    {"Divide", "σ(x_i) = 1/(1 + t_i) if x_i >= 0, else t_i/(1 + t_i)",
     "Both forms equal 1/(1 + exp(-x_i)); each uses t = exp(-|x|). σ is the 2-class softmax: "
     "σ(x) = softmax([x, 0])_1, the probability of class 1 when the logits differ by x."},
    {"Add the log", "log σ(x_i) = min(x_i, 0) - log1p(t_i)",
     "log1p keeps the tiny value at large x (log σ(40) = -4.2e-18, where 1 - 4.2e-18 rounds to 1 "
     "and its log to 0), and at very negative x the result is x itself (log σ(-100) = -100, not "
     "log 0 = -inf)."},
    {"Add the log", "softplus(x_i) = max(x_i, 0) + log1p(t_i)",
     "softplus(x) = log(1 + exp(x)) = -log σ(-x), a smooth max(x, 0): log1p keeps the tiny value "
     "at very negative x, and at large x the result is x itself, where exp(x) would overflow."},
};

// The step all three share: t = exp(-|x|), which never overflows.
std::vector<Real> ExplainSmallExponential(std::span<const double> row, Explanation* e) {
  std::vector<Real> t;
  for (double x : row) t.push_back(std::exp(-std::fabs(static_cast<Real>(x))));
  e->steps.push_back(RowStep("Exponentiate minus the magnitude", "t_i = exp(-|x_i|)", ToDoubles(t),
                             "t_i <= 1 for every x_i, so nothing overflows: the textbook "
                             "1/(1 + exp(-x)) would compute exp(1000) = inf at x = -1000. A NaN "
                             "stays NaN through every step."));
  return t;
}

Explanation ExplainElementwise(Kind kind, std::span<const double> row) {
  Explanation e;
  e.heading =
      std::string(Name(kind)) + " of " + std::to_string(row.size()) + " values, each on its own:";
  e.steps.push_back(RowStep("The inputs", "x", std::vector<double>(row.begin(), row.end())));
  const std::vector<Real> t = ExplainSmallExponential(row, &e);
  std::vector<Real> result;
  for (std::size_t i = 0; i < row.size(); ++i) {
    const Real x = row[i];
    switch (kind) {
      case Kind::kSigmoid: result.push_back(x >= 0 ? 1 / (1 + t[i]) : t[i] / (1 + t[i])); break;
      case Kind::kLogSigmoid: result.push_back(std::fmin(x, 0) - std::log1p(t[i])); break;
      case Kind::kSoftplus: result.push_back(std::fmax(x, 0) + std::log1p(t[i])); break;
    }
    if (std::isnan(x)) result.back() = NAN;
  }
  const LastStep& last = kLastSteps[static_cast<int>(kind)];
  e.steps.push_back(RowStep(last.title, last.formula, ToDoubles(result), last.why));
  e.result = ToDoubles(result);
  return e;
}

}  // namespace

Explanation ExplainSigmoid(std::span<const double> row, double /*temperature*/) {
  return ExplainElementwise(Kind::kSigmoid, row);
}

Explanation ExplainLogSigmoid(std::span<const double> row, double /*temperature*/) {
  return ExplainElementwise(Kind::kLogSigmoid, row);
}

Explanation ExplainSoftplus(std::span<const double> row, double /*temperature*/) {
  return ExplainElementwise(Kind::kSoftplus, row);
}

}  // namespace smx_cli
