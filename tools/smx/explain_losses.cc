#include "explain_losses.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "explain_softmax.h"
#include "numbers.h"

namespace smx_cli {
namespace {

// Long double, from the sample's exact values, independently of the library's kernels.
using Real = long double;
constexpr Real kInfinity = std::numeric_limits<Real>::infinity();

std::string Num(double value) { return ExplainNumber(value); }

// Σ_j values_j - values_k for every k, without the cancellation of a sum minus a dominant term:
// where values_k is more than half the total, the others are added up instead.
std::vector<Real> SumsOfOthers(const std::vector<Real>& values) {
  Real total = 0;
  for (Real v : values) total += v;
  std::vector<Real> others(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (std::fabs(values[k]) <= std::fabs(total) / 2) {
      others[k] = total - values[k];
      continue;
    }
    Real sum = 0;
    for (std::size_t j = 0; j < values.size(); ++j) sum += j == k ? 0 : values[j];
    others[k] = sum;
  }
  return others;
}

// p = softmax(z), log p and 1 - p of a row without NaN or +inf, in long double. 1 - p_c is the sum
// of the other weights over S, so that p_t - 1 of a confident prediction keeps its digits.
struct Probabilities {
  std::vector<Real> p, log_p, one_minus_p;
  bool masked = false;  // every logit is -inf
};

Probabilities SoftmaxOf(std::span<const double> z) {
  const std::size_t k = z.size();
  Probabilities out;
  Real m = -kInfinity;
  for (double v : z) m = std::max<Real>(m, v);
  if (m == -kInfinity) {  // fully masked: p = 0, the limit the library defines
    out.p.assign(k, 0);
    out.log_p.assign(k, -kInfinity);
    out.one_minus_p.assign(k, 1);
    out.masked = true;
    return out;
  }
  std::vector<Real> shifted(k);
  std::vector<Real> weights(k);
  Real ties = 0;
  Real rest = 0;
  for (std::size_t c = 0; c < k; ++c) {
    shifted[c] = static_cast<Real>(z[c]) - m;
    weights[c] = std::exp(shifted[c]);
    if (shifted[c] == 0) {
      ties += 1;
    } else {
      rest += weights[c];
    }
  }
  const Real sum = ties + rest;
  // log S = log(ties) + log1p(rest / ties): a rest far below 1 keeps its digits.
  const Real log_sum = std::log(ties) + std::log1p(rest / ties);
  const std::vector<Real> others = SumsOfOthers(weights);
  for (std::size_t c = 0; c < k; ++c) {
    out.p.push_back(weights[c] / sum);
    out.log_p.push_back(shifted[c] - log_sum);
    out.one_minus_p.push_back(others[c] / sum);
  }
  return out;
}

}  // namespace

Explanation ExplainCrossEntropy(const CrossEntropySample& s) {
  Explanation e = ExplainSoftmax(s.logits, 1.0);
  const std::size_t k = s.logits.size();
  const std::string classes = std::to_string(k);
  e.heading = "Cross-entropy of the first sample: " + classes +
              " logits z, p = softmax(z), the target distribution y, then the loss "
              "-Σ_c w_c y_c log p_c and its gradient with respect to z. The result is the "
              "sample's loss followed by its gradient, unreduced (as --reduction none gives "
              "them).";
  e.bound = Explanation::Bound::kRelative;
  e.result_is_row = true;

  const bool weighted = !s.weight.empty();
  if (s.target_class) {
    const std::int64_t t = *s.target_class;
    e.steps.push_back(
        NumberStep("The target class", "t", static_cast<double>(t),
                   "Classes are numbered from 0 to C - 1 = " + std::to_string(k - 1) + "."));
    if (t == s.ignore_index) {
      e.steps.push_back({"The target equals --ignore-index (" + std::to_string(s.ignore_index) +
                             "): the sample is ignored",
                         "",
                         {},
                         true,
                         "An ignored sample contributes no loss and a zero gradient row, and "
                         "does not count in the mean's divisor (as in PyTorch)."});
      e.result.assign(k + 1, 0.0);
      return e;
    }
  }

  // y: the target distribution, after label smoothing.
  const Real eps = s.label_smoothing;
  std::vector<Real> y(k);
  for (std::size_t c = 0; c < k; ++c) {
    const Real given = s.target_class ? (static_cast<std::int64_t>(c) == *s.target_class ? 1 : 0)
                                      : static_cast<Real>(s.target_probs[c]);
    y[c] = eps == 0 ? given : (1 - eps) * given + eps / static_cast<Real>(k);
  }
  std::string y_title;
  std::string y_formula;
  std::string y_why;
  if (s.target_class && eps == 0) {
    y_title = "The target as a distribution: one-hot at t";
    y_formula = "y_c = (c = t ? 1 : 0)";
    y_why =
        "Cross-entropy compares two distributions; a class index is the one that puts "
        "all its mass on t.";
  } else if (s.target_class) {
    y_title = "The target as a distribution, smoothed by ε = " + Num(s.label_smoothing);
    y_formula = "y_c = (1 - ε) onehot(t)_c + ε/C";
    y_why =
        "Label smoothing moves mass ε from the target class to all C classes evenly, so "
        "the model is not pushed to make p_t exactly 1.";
  } else if (eps == 0) {
    y_title = "The target distribution, as given";
    y_formula = "y";
    y_why =
        "A floating target holds one probability per class (PyTorch's rule for a floating "
        "target).";
  } else {
    y_title = "The given target probabilities P, smoothed by ε = " + Num(s.label_smoothing);
    y_formula = "y_c = (1 - ε) P_c + ε/C";
  }
  e.steps.push_back(RowStep(y_title, y_formula, ToDoubles(y), y_why));

  // u = w∘y: the weighted target.
  std::vector<Real> u(y);
  if (weighted) {
    e.steps.push_back(RowStep("The class weights", "w", s.weight));
    for (std::size_t c = 0; c < k; ++c) u[c] = static_cast<Real>(s.weight[c]) * y[c];
    e.steps.push_back(RowStep("Weight the target", "u_c = w_c y_c", ToDoubles(u),
                              "A weight w_c scales everything class c contributes to the loss "
                              "and the gradient."));
  }
  const std::string u_name = weighted ? "u" : "y";

  e.result.clear();
  bool has_nan = false;
  bool has_positive_infinity = false;
  for (double z : s.logits) {
    has_nan |= std::isnan(z);
    has_positive_infinity |= z == INFINITY;
  }
  if (has_nan || has_positive_infinity) {
    e.steps.push_back({"The loss and the gradient are NaN",
                       "",
                       {},
                       true,
                       "p is undefined for a row that holds NaN or +inf, and so are the loss "
                       "and every entry of the gradient: smx makes them NaN."});
    e.result.assign(k + 1, NAN);
    return e;
  }

  const Probabilities prob = SoftmaxOf(s.logits);
  if (prob.masked) {
    e.steps.push_back({"Every logit is -inf (a fully masked row): p = 0",
                       "",
                       {},
                       true,
                       "smx defines the loss of a fully masked row as +inf (0 when the target has "
                       "no weight) and its gradient by the formula below with p = 0, so g = -" +
                           u_name + "."});
  }
  e.steps.push_back(RowStep("Take the log of the probabilities", "log p_c = s_c - log S",
                            ToDoubles(prob.log_p),
                            "Working in log space keeps tiny probabilities: log p_c stays finite "
                            "where p_c would round to 0."));

  Real loss = 0;
  for (std::size_t c = 0; c < k; ++c) {
    if (u[c] != 0) loss -= u[c] * prob.log_p[c];  // a term with u_c = 0 is 0, even at log p = -inf
  }
  std::string loss_why = "The cross-entropy between the target y and the prediction p";
  if (s.target_class && eps == 0)
    loss_why += (weighted ? "; here w_t (-log p_t)" : "; here -log p_t");
  loss_why += ". A term with " + u_name + "_c = 0 counts 0, even where log p_c = -inf.";
  e.steps.push_back(NumberStep("The loss of this sample",
                               "l = -Σ_c " + std::string(weighted ? "w_c " : "") + "y_c log p_c",
                               static_cast<double>(loss), loss_why));

  // g_c = U p_c - u_c, U = Σ u, written as (U - u_c) p_c - u_c (1 - p_c) so that a confident
  // prediction keeps the digits of p_t - 1.
  const std::vector<Real> others = SumsOfOthers(u);
  Real total = 0;
  for (Real v : u) total += v;
  std::vector<Real> grad(k);
  for (std::size_t c = 0; c < k; ++c) {
    grad[c] = others[c] * prob.p[c] - u[c] * prob.one_minus_p[c];
  }
  const bool unit_mass = !weighted && std::fabs(total - 1) < 1e-15L;
  e.steps.push_back(RowStep(
      "The gradient with respect to the logits (this sample's, unreduced)",
      weighted    ? "g_c = (Σ_j u_j) p_c - u_c"
      : unit_mass ? "g_c = p_c - y_c"
                  : "g_c = (Σ_j y_j) p_c - y_c",
      ToDoubles(grad),
      "The derivative of l with respect to z_c: the prediction minus the target" +
          std::string(weighted ? ", each class weighted, with Σ_j u_j = " +
                                     Num(static_cast<double>(total)) + " on p"
                               : "") +
          ". It is the gradient of this sample's loss alone, as --reduction none gives it."));
  if (!prob.masked) {
    Real check = 0;
    for (Real g : grad) check += g;
    e.steps.push_back(NumberStep("Check: the gradient sums to 0", "Σ_c g_c",
                                 static_cast<double>(check),
                                 "Adding the same number to every logit leaves p, and so the "
                                 "loss, unchanged: (Σ_j " +
                                     u_name + "_j) Σ_c p_c - Σ_c " + u_name + "_c = 0."));
  }
  if (s.reduction == smx::Reduction::kMean) {
    e.steps.push_back(NumberStep(
        "--reduction mean (the default) then divides by", "D", s.divisor,
        std::string("The loss smx reports is Σ_n l_n / D over every sample of the input, and "
                    "every gradient row is divided by D, ") +
            (!s.target_class    ? "D being the number of samples."
             : s.weight.empty() ? "D being the number of samples not ignored."
                                : "D being the sum of w_t over the samples not ignored.") +
            " The result below is before that division."));
  } else if (s.reduction == smx::Reduction::kSum) {
    e.steps.push_back({"What --reduction sum does with it",
                       "",
                       {},
                       true,
                       "The loss smx reports is Σ_n l_n over every sample of the input; the "
                       "gradient rows are as here."});
  }

  e.result.push_back(static_cast<double>(loss));
  for (Real g : grad) e.result.push_back(static_cast<double>(g));
  return e;
}

}  // namespace smx_cli
