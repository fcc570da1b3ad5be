// smx demo --practice: the classic practice problems on softmax, each stated, solved with the
// numbers smx computes, and checked against an answer found another way (a closed form, finite
// differences of smx's own softmax and logsumexp, or a sum over outcomes).
#include "demo_practice.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cli_error.h"
#include "numbers.h"
#include "smx/smx.hpp"

namespace smx_cli {
namespace {

using Row = std::vector<double>;
using Matrix = std::vector<Row>;  // square; m[i][j] is row i, column j

// ---- The library's answers, all in f64. ----

void Require(const smx::Status& status) {
  if (!status.ok()) throw RuntimeError(status.message());
}

Row Softmax(const Row& z) {
  Row p(z.size());
  Require(smx::softmax(std::span<const double>(z), std::span<double>(p)));
  return p;
}

double LogSumExp(const Row& z) {
  double lse = 0;
  Require(smx::logsumexp(std::span<const double>(z), lse));
  return lse;
}

double Sigmoid(double x) {
  double y = 0;
  Require(smx::sigmoid(std::span<const double>(&x, 1), std::span<double>(&y, 1)));
  return y;
}

double Entropy(const Row& z, double temperature = 1.0) {
  const std::int64_t k = static_cast<std::int64_t>(z.size());
  double h = 0;
  Require(smx::entropy(smx::TensorView<const double>(z.data(), {k}),
                       smx::TensorView<double>(&h, std::span<const std::int64_t>()),
                       {.temperature = temperature}));
  return h;
}

Matrix Unflatten(const Row& flat, std::size_t k) {
  Matrix m(k, Row(k));
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) m[i][j] = flat[i * k + j];
  return m;
}

Matrix Jacobian(const Row& z) {
  const std::int64_t k = static_cast<std::int64_t>(z.size());
  Row flat(z.size() * z.size());
  Require(smx::softmax_jacobian(smx::TensorView<const double>(z.data(), {k}),
                                smx::TensorView<double>(flat.data(), {k, k})));
  return Unflatten(flat, z.size());
}

Matrix LogSumExpHessian(const Row& z) {
  const std::int64_t k = static_cast<std::int64_t>(z.size());
  Row flat(z.size() * z.size());
  Require(smx::logsumexp_hessian(smx::TensorView<const double>(z.data(), {k}),
                                 smx::TensorView<double>(flat.data(), {k, k})));
  return Unflatten(flat, z.size());
}

// ---- The independent answers. ----

// diag(p) - p p^T, written out from p alone.
Matrix DiagMinusOuter(const Row& p) {
  Matrix m(p.size(), Row(p.size()));
  for (std::size_t i = 0; i < p.size(); ++i)
    for (std::size_t j = 0; j < p.size(); ++j) m[i][j] = (i == j ? p[i] : 0.0) - p[i] * p[j];
  return m;
}

// The covariance of the one-hot vector e_Y, Y ~ Categorical(p), as a statistician computes it:
// E[e e^T] - E[e] E[e]^T, each expectation a sum over the K outcomes weighted by p_k.
Matrix OneHotCovariance(const Row& p) {
  const std::size_t k = p.size();
  Matrix moment(k, Row(k, 0.0));
  Row mean(k, 0.0);
  for (std::size_t outcome = 0; outcome < k; ++outcome) {
    Row e(k, 0.0);
    e[outcome] = 1;
    for (std::size_t i = 0; i < k; ++i) {
      mean[i] += p[outcome] * e[i];
      for (std::size_t j = 0; j < k; ++j) moment[i][j] += p[outcome] * e[i] * e[j];
    }
  }
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) moment[i][j] -= mean[i] * mean[j];
  return moment;
}

// J_ij ~ (p_i(z + h e_j) - p_i(z - h e_j)) / 2h from smx::softmax alone: the error is about
// h^2 |p'''| / 6 plus the rounding of p over h, near 1e-11 for h = 1e-5.
Matrix SoftmaxDifferences(const Row& z, double h) {
  Matrix m(z.size(), Row(z.size()));
  for (std::size_t j = 0; j < z.size(); ++j) {
    Row up = z, down = z;
    up[j] += h;
    down[j] -= h;
    const Row p_up = Softmax(up), p_down = Softmax(down);
    for (std::size_t i = 0; i < z.size(); ++i) m[i][j] = (p_up[i] - p_down[i]) / (2 * h);
  }
  return m;
}

// d2L/dz_i dz_j ~ [L(+h e_i +h e_j) - L(+h e_i -h e_j) - L(-h e_i +h e_j) + L(-h e_i -h e_j)] /
// 4h^2 from smx::logsumexp alone (for i = j, the usual second difference with step 2h). Rounding of
// L over h^2 dominates: about 1e-8 for h = 1e-4.
Matrix LogSumExpSecondDifferences(const Row& z, double h) {
  const auto shifted = [&](std::size_t i, double di, std::size_t j, double dj) {
    Row moved = z;
    moved[i] += di;
    moved[j] += dj;
    return LogSumExp(moved);
  };
  Matrix m(z.size(), Row(z.size()));
  for (std::size_t i = 0; i < z.size(); ++i)
    for (std::size_t j = 0; j < z.size(); ++j)
      m[i][j] = (shifted(i, h, j, h) - shifted(i, h, j, -h) - shifted(i, -h, j, h) +
                 shifted(i, -h, j, -h)) /
                (4 * h * h);
  return m;
}

// ---- Small matrix helpers. ----

Row RowSums(const Matrix& m) {
  Row sums(m.size(), 0.0);
  for (std::size_t i = 0; i < m.size(); ++i)
    for (double v : m[i]) sums[i] += v;
  return sums;
}

Matrix Transpose(const Matrix& m) {
  Matrix t(m.size(), Row(m.size()));
  for (std::size_t i = 0; i < m.size(); ++i)
    for (std::size_t j = 0; j < m.size(); ++j) t[j][i] = m[i][j];
  return t;
}

Row ColumnSums(const Matrix& m) { return RowSums(Transpose(m)); }

// Gaussian elimination with partial pivoting; the determinant is the product of the pivots.
double Determinant(Matrix a) {
  double det = 1;
  for (std::size_t c = 0; c < a.size(); ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < a.size(); ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[pivot][c])) pivot = r;
    if (a[pivot][c] == 0) return 0;
    if (pivot != c) {
      std::swap(a[pivot], a[c]);
      det = -det;  // a row swap flips the sign
    }
    det *= a[c][c];
    for (std::size_t r = c + 1; r < a.size(); ++r) {
      const double factor = a[r][c] / a[c][c];
      for (std::size_t j = c; j < a.size(); ++j) a[r][j] -= factor * a[c][j];
    }
  }
  return det;
}

// m without its last row and column.
Matrix LeadingMinor(const Matrix& m) {
  Matrix minor(m.begin(), m.end() - 1);
  for (Row& row : minor) row.pop_back();
  return minor;
}

// The largest |a - b|; NaN if any difference is NaN or the sizes differ, so that a check fails.
double MaxDiff(const Row& a, const Row& b) {
  if (a.size() != b.size()) return NAN;
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    if (std::isnan(d)) return NAN;
    worst = std::max(worst, d);
  }
  return worst;
}

double MaxDiff(const Matrix& a, const Matrix& b) {
  if (a.size() != b.size()) return NAN;
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = MaxDiff(a[i], b[i]);
    if (std::isnan(d)) return NAN;
    worst = std::max(worst, d);
  }
  return worst;
}

// ---- Printing. ----

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// The columns `text` takes: its UTF-8 characters (Σ, ŷ, ∇), not its bytes.
std::size_t Columns(const std::string& text) {
  std::size_t columns = 0;
  for (unsigned char c : text) columns += (c & 0xC0) != 0x80;
  return columns;
}

std::string Pad(std::string text, std::size_t width) {
  const std::size_t columns = Columns(text);
  if (columns < width) text.append(width - columns, ' ');
  return text;
}

std::string Fixed(double value) { return Format("%.6f", value); }
std::string Sci(double value) { return Format("%.1e", value); }

std::string List(const Row& row, std::string (*format)(double) = Fixed) {
  std::string text = "[";
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i > 0) text += ", ";
    text += format(row[i]);
  }
  return text + "]";
}

// "   J = [ 0.222695 -0.162803]" and the following rows aligned under the first.
void PrintMatrix(const std::string& name, const Matrix& m) {
  const std::string blank = Pad("", Columns(name));
  for (std::size_t i = 0; i < m.size(); ++i) {
    std::string line = "[";
    for (std::size_t j = 0; j < m[i].size(); ++j) {
      if (j > 0) line += ' ';
      line += Format("%9.6f", m[i][j]);
    }
    std::printf("   %s %s %s]\n", (i == 0 ? name : blank).c_str(), i == 0 ? "=" : " ",
                line.c_str());
  }
}

// Prints one check line and counts it: the largest difference between smx's answer and the
// independent one, against the tolerance the two methods allow.
class Checker {
 public:
  void Close(const std::string& label, double difference, double tolerance) {
    const bool ok = difference <= tolerance;  // false for NaN
    std::printf("   %s |diff| %s %s %s  %s\n", Pad(label, 44).c_str(), Sci(difference).c_str(),
                ok ? "≤" : ">", Format("%.0e", tolerance).c_str(), ok ? "ok" : "FAILED");
    ++checked_;
    failed_ += !ok;
  }
  void Close(const std::string& label, const Matrix& got, const Matrix& want, double tolerance) {
    Close(label, MaxDiff(got, want), tolerance);
  }
  void Close(const std::string& label, const Row& got, const Row& want, double tolerance) {
    Close(label, MaxDiff(got, want), tolerance);
  }
  void Close(const std::string& label, double got, double want, double tolerance) {
    Close(label, std::fabs(got - want), tolerance);
  }
  int checked() const { return checked_; }
  int failed() const { return failed_; }

 private:
  int checked_ = 0;
  int failed_ = 0;
};

constexpr double kRounding = 1e-15;  // two f64 computations of the same quantity, values <= 1
constexpr double kFirstDifferences = 1e-8;
constexpr double kSecondDifferences = 1e-6;

// ---- The problems. ----

void JacobianProblem(Checker& check) {
  std::printf("Problem 1. Find the Jacobian J_ij = ∂p_i/∂z_j of p = softmax(z), z = [1, 0, -1].\n");
  const Row z = {1, 0, -1};
  const Row p = Softmax(z);
  const Matrix jac = Jacobian(z);
  std::printf("   p = softmax(z) = %s\n", List(p).c_str());
  std::printf("   ∂p_i/∂z_j = p_i (δ_ij - p_j), so J = diag(p) - p p^T (smx::softmax_jacobian):\n");
  PrintMatrix("J", jac);
  std::printf("   e.g. J_11 = p_1 (1 - p_1) = %s × %s = %s\n", Fixed(p[0]).c_str(),
              Fixed(1 - p[0]).c_str(), Fixed(jac[0][0]).c_str());
  std::printf("        J_12 = -p_1 p_2 = -%s × %s = %s\n", Fixed(p[0]).c_str(), Fixed(p[1]).c_str(),
              Fixed(jac[0][1]).c_str());
  const Row zeros(z.size(), 0.0);
  check.Close("J = diag(p) - p p^T, formed from p", jac, DiagMinusOuter(p), kRounding);
  check.Close("rows sum to 0: J 1 = 0", RowSums(jac), zeros, kRounding);
  check.Close("columns sum to 0: 1^T J = 0", ColumnSums(jac), zeros, kRounding);
  check.Close("symmetric: J = J^T", jac, Transpose(jac), kRounding);
  check.Close("central differences of smx::softmax, h=1e-5", jac, SoftmaxDifferences(z, 1e-5),
              kFirstDifferences);
}

// What the textbook formula exp(z_1 + c) / Σ_j exp(z_j + c) gives in f64 for the shift c.
void ShowNaiveShift(const Row& z, double c) {
  volatile double shift = c;  // volatile: computed at run time, as a naive kernel would
  double sum = 0;
  for (double v : z) sum += std::exp(v + shift);
  const double top = std::exp(z[0] + shift);
  std::printf(
      "   c = %s: exp(%s) = %s, so p_1 = %s/%s = %s\n", FormatNumber(c, smx::DType::kF64).c_str(),
      FormatNumber(z[0] + c, smx::DType::kF64).c_str(), FormatNumber(top, smx::DType::kF64).c_str(),
      FormatNumber(top, smx::DType::kF64).c_str(), FormatNumber(sum, smx::DType::kF64).c_str(),
      FormatNumber(top / sum, smx::DType::kF64).c_str());
}

void TranslationProblem(Checker& check) {
  std::printf(
      "\nProblem 2. Show that softmax(z + c 1) = softmax(z) for every constant c, and\n"
      "that p = softmax(z) has only K - 1 degrees of freedom. Take z = [2, 1, 0.5, -1].\n");
  const Row z = {2, 1, 0.5, -1};
  const Row p = Softmax(z);
  std::printf(
      "   exp(z_i + c) / Σ_j exp(z_j + c) = e^c exp(z_i) / (e^c Σ_j exp(z_j)):\n"
      "   the e^c cancels.\n"
      "   In f64 the textbook formula fails first, exp overflows or underflows:\n");
  ShowNaiveShift(z, 1000);
  ShowNaiveShift(z, -1000);
  std::printf(
      "   smx subtracts max_j z_j first (itself such a shift), so every exp is <= 1\n"
      "   and p stays finite:\n"
      "   softmax(z) = %s\n",
      List(p).c_str());
  for (double c : {1000.0, -1000.0, 1e6}) {
    Row shifted = z;
    for (double& v : shifted) v += c;
    check.Close("softmax(z + c 1) = softmax(z), c = " + FormatNumber(c, smx::DType::kF64),
                Softmax(shifted), p, kRounding);
  }
  const Matrix jac = Jacobian(z);
  const double det = Determinant(jac), minor = Determinant(LeadingMinor(jac));
  std::printf(
      "   The p_i sum to 1, so K - 1 of them fix the last. Moving z along 1 changes\n"
      "   nothing, so J 1 = 0: 1 spans J's null space and J has rank K - 1 = 3.\n"
      "   J 1 = %s\n"
      "   det J = %s (0 up to rounding), but the 3×3 minor without row and\n"
      "   column 4 is %s = p_1 p_2 p_3 p_4 ≠ 0.\n",
      List(RowSums(jac), Sci).c_str(), Sci(det).c_str(), Sci(minor).c_str());
  check.Close("J 1 = 0: 1 is J's null vector", RowSums(jac), Row(z.size(), 0.0), kRounding);
  check.Close("det J = 0", det, 0.0, kRounding);
  check.Close("(K-1)×(K-1) minor = p_1 p_2 p_3 p_4 ≠ 0", minor, p[0] * p[1] * p[2] * p[3],
              kRounding);
}

void TwoClassProblem(Checker& check) {
  std::printf(
      "\nProblem 3. For two classes, z = [z1, z2] = [1, -0.5], find the 2×2 Jacobian and\n"
      "show that ∂ŷ1/∂z1 = ŷ1 ŷ2 = σ(d)(1 - σ(d)) with d = z1 - z2.\n");
  const Row z = {1, -0.5};
  const double d = z[0] - z[1];
  const Row y = Softmax(z);
  const Matrix jac = Jacobian(z);
  const double product = y[0] * y[1];
  std::printf(
      "   ŷ1 = e^z1 / (e^z1 + e^z2) = 1 / (1 + e^-(z1 - z2)) = σ(d), d = %s,\n"
      "   and ŷ2 = 1 - ŷ1.\n"
      "   ŷ = %s; J_11 = ŷ1 (1 - ŷ1) = ŷ1 ŷ2 and J_12 = -ŷ1 ŷ2,\n"
      "   so J = ŷ1 ŷ2 [[1, -1], [-1, 1]] (smx::softmax_jacobian):\n",
      FormatNumber(d, smx::DType::kF64).c_str(), List(y).c_str());
  PrintMatrix("J", jac);
  std::printf("   ∂ŷ1/∂z1 = ŷ1 ŷ2 = %s × %s = %s\n", Fixed(y[0]).c_str(), Fixed(y[1]).c_str(),
              Fixed(product).c_str());
  const double sigma = Sigmoid(d), h = 1e-5;
  check.Close("J = ŷ1 ŷ2 [[1, -1], [-1, 1]]", jac, {{product, -product}, {-product, product}},
              kRounding);
  check.Close("ŷ1 = σ(z1 - z2), smx::sigmoid", y[0], sigma, kRounding);
  check.Close("ŷ1 ŷ2 = σ(d)(1 - σ(d)), smx::sigmoid", product, sigma * (1 - sigma), kRounding);
  check.Close("∂ŷ1/∂z1: central differences of softmax", jac[0][0], SoftmaxDifferences(z, h)[0][0],
              kFirstDifferences);
  check.Close("σ'(d): central differences of smx::sigmoid", jac[0][0],
              (Sigmoid(d + h) - Sigmoid(d - h)) / (2 * h), kFirstDifferences);
}

// H(softmax(z)) from scratch in long double: 64 bits of mantissa, so its error (1e-19) is far below
// the 1e-12 that smx promises.
double EntropyInLongDouble(const Row& z) {
  long double max = z[0], sum = 0, h = 0;
  for (double v : z) max = std::max<long double>(max, v);
  for (double v : z) sum += std::exp(static_cast<long double>(v) - max);
  for (double v : z) {
    const long double p = std::exp(static_cast<long double>(v) - max) / sum;
    h -= p * std::log(p);
  }
  return static_cast<double>(h);
}

void EntropyValues(Checker& check) {
  std::printf(
      "\nProblem 4. Find the entropy H(p) = -Σ_i p_i log p_i of p = softmax(z) for\n"
      "z = [2, 2, 2] and z = [5, 0, -5].\n");
  const Row equal = {2, 2, 2}, spread = {5, 0, -5};
  const double h_equal = Entropy(equal), h_spread = Entropy(spread);
  std::printf(
      "   [2, 2, 2]: equal logits, p = [1/3, 1/3, 1/3], H = -3 (1/3) log(1/3) = log 3\n"
      "   smx::entropy: H = %.10f\n",
      h_equal);
  const Row p = Softmax(spread);
  Row terms(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) terms[i] = -p[i] * std::log(p[i]);
  std::printf(
      "   [5, 0, -5]: p = %s: nearly certain, H small.\n"
      "   -p_i log p_i = %s; their sum is H.\n"
      "   smx::entropy: H = %.10f\n",
      List(p).c_str(), List(terms).c_str(), h_spread);
  const double mean_logit = p[0] * spread[0] + p[1] * spread[1] + p[2] * spread[2];
  std::printf(
      "   Also, as log p_i = z_i - logsumexp(z), H = logsumexp(z) - Σ_i p_i z_i\n"
      "   = %s - %s = %s.\n",
      Fixed(LogSumExp(spread)).c_str(), Fixed(mean_logit).c_str(),
      Fixed(LogSumExp(spread) - mean_logit).c_str());
  check.Close("H([2, 2, 2]) = log 3", h_equal, std::log(3.0), kRounding);
  check.Close("H([5, 0, -5]) = -Σ p log p in long double", h_spread, EntropyInLongDouble(spread),
              1e-12 * h_spread);
  check.Close("H = logsumexp(z) - Σ p_i z_i, smx::logsumexp", h_spread,
              LogSumExp(spread) - mean_logit, 1e-14);
}

void EntropyLimits(Checker& check) {
  const Row spread = {5, 0, -5}, tied = {2, 2, 1};
  std::printf(
      "   With a temperature, H(softmax(z/T)) for z = [5, 0, -5] rises from 0 to log 3:\n  ");
  for (double t : {0.1, 1.0, 10.0, 100.0, double{INFINITY}}) {
    std::printf("%s %s: %s", t == 0.1 ? " T =" : ",", FormatNumber(t, smx::DType::kF64).c_str(),
                FormatNumber(Entropy(spread, t), smx::DType::kF64, 4).c_str());
  }
  std::printf(
      "\n   T -> inf makes p uniform (H = log K); T -> 0 keeps only the m tied maxima\n"
      "   (H = log m): z = [2, 2, 1] gives log 2 = %s.\n",
      Fixed(Entropy(tied, 0)).c_str());
  check.Close("T -> inf (-T inf): H([5, 0, -5]) = log 3", Entropy(spread, INFINITY), std::log(3.0),
              kRounding);
  check.Close("T -> 0 (-T 0): H([2, 2, 1]) = log 2", Entropy(tied, 0), std::log(2.0), kRounding);
}

void HessianProblem(Checker& check) {
  std::printf(
      "\nProblem 5. Show that the Hessian of L(z) = log Σ_j exp(z_j) is the covariance of\n"
      "the one-hot vector e_Y of Y ~ Categorical(p), p = softmax(z). Take\n"
      "z = [1, 0, -1, 0.5].\n");
  const Row z = {1, 0, -1, 0.5};
  const Row p = Softmax(z);
  const Matrix hessian = LogSumExpHessian(z);
  std::printf(
      "   ∂L/∂z_i = exp(z_i) / Σ_j exp(z_j) = p_i, so ∂²L/∂z_i∂z_j = ∂p_i/∂z_j\n"
      "   = p_i (δ_ij - p_j): the softmax Jacobian. For the one-hot e_Y, E[e_Y] = p and\n"
      "   E[e_Y e_Y^T] = diag(p) (e_k e_k^T has its one 1 at (k, k)), so Cov(e_Y) =\n"
      "   diag(p) - p p^T, the same matrix; L is convex because a covariance is PSD.\n"
      "   p = %s\n",
      List(p).c_str());
  PrintMatrix("∇²L", hessian);
  check.Close("smx::logsumexp_hessian = diag(p) - p p^T", hessian, DiagMinusOuter(p), kRounding);
  check.Close("it is smx::softmax_jacobian at z", hessian, Jacobian(z), kRounding);
  check.Close("second differences of smx::logsumexp, h=1e-4", hessian,
              LogSumExpSecondDifferences(z, 1e-4), kSecondDifferences);
  check.Close("Cov(e_Y): E[e e^T] - E[e] E[e]^T by outcomes", hessian, OneHotCovariance(p),
              kRounding);
}

}  // namespace

int RunPracticeProblems() {
  std::printf(
      "smx %s demo --practice: the classic softmax problems, solved with smx (f64).\n"
      "Each check compares smx's answer with one found another way: |diff| is their\n"
      "largest difference, within the tolerance the two methods allow.\n\n",
      smx::version());
  Checker check;
  JacobianProblem(check);
  TranslationProblem(check);
  TwoClassProblem(check);
  EntropyValues(check);
  EntropyLimits(check);
  HessianProblem(check);
  std::printf("\n%d of %d checks passed\n", check.checked() - check.failed(), check.checked());
  return check.failed() > 0 ? kExitRuntime : kExitOk;
}

}  // namespace smx_cli
