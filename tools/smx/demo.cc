// smx demo: the worked examples of softmax, each computed by the library and checked against its
// known value, then one benchmark line.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "bench_core.h"
#include "commands.h"
#include "demo_practice.h"
#include "numbers.h"
#include "smx/smx.hpp"

namespace smx_cli {
namespace {

using Row = std::vector<double>;

Row Softmax(const Row& z, double temperature = 1.0) {
  Row p(z.size());
  const smx::Status status =
      smx::softmax(std::span<const double>(z), std::span<double>(p), {.temperature = temperature});
  if (!status.ok()) throw RuntimeError(status.message());
  return p;
}

std::string Show(const Row& row, int decimals = 4) {
  std::string text = "[";
  for (std::size_t i = 0; i < row.size(); ++i) {
    char buffer[64];
    if (std::isfinite(row[i])) {
      std::snprintf(buffer, sizeof buffer, "%.*f", decimals, row[i]);
    } else {
      std::snprintf(buffer, sizeof buffer, "%s", FormatNumber(row[i], smx::DType::kF64).c_str());
    }
    text += (i > 0 ? ", " : "") + std::string(buffer);
  }
  return text + "]";
}

// Prints one result line and counts whether `got` is within `tolerance` of `want` everywhere.
class Checker {
 public:
  void Line(const std::string& label, const Row& got, const Row& want, double tolerance,
            const std::string& note = "") {
    bool ok = got.size() == want.size();
    for (std::size_t i = 0; ok && i < got.size(); ++i)
      ok = std::fabs(got[i] - want[i]) <= tolerance;
    std::printf("   %-22s %-28s %s%s\n", label.c_str(), Show(got).c_str(),
                ok ? "ok" : ("FAILED, expected " + Show(want)).c_str(),
                note.empty() ? "" : ("   " + note).c_str());
    ++checked_;
    failed_ += !ok;
  }
  int checked() const { return checked_; }
  int failed() const { return failed_; }

 private:
  int checked_ = 0;
  int failed_ = 0;
};

constexpr double kFourDigits = 5e-5;  // the expected values below are quoted to 4 decimals
constexpr double kExact = 1e-15;

void ShowBasics(Checker& check) {
  std::printf("1. softmax(z)_i = exp(z_i) / Σ_j exp(z_j): positive, and the outputs sum to 1\n");
  check.Line("softmax([2, 1, 0.5])", Softmax({2, 1, 0.5}), {0.6285, 0.2312, 0.1402}, kFourDigits);

  std::printf("\n2. Large logits: softmax([1000, 1001, 1002])\n");
  volatile double large = 1000;  // volatile: computed at run time, as a naive kernel would
  const double overflowed = std::exp(large);
  const double naive = overflowed / (overflowed + std::exp(large + 1) + std::exp(large + 2));
  std::printf("   naive: exp(1000) = %s in f64 (the largest is about exp(709.78)),\n",
              FormatNumber(overflowed, smx::DType::kF64).c_str());
  std::printf("          so exp(z_0) / Σ exp(z_j) = inf / inf = %s\n",
              FormatNumber(naive, smx::DType::kF64).c_str());
  check.Line("smx (shift by the max)", Softmax({1000, 1001, 1002}), {0.0900, 0.2447, 0.6652},
             kFourDigits, "same as [-2, -1, 0]");

  std::printf("\n3. Temperature: softmax(z / T) for z = [3, 1, 0]\n");
  check.Line("T = 0.5", Softmax({3, 1, 0}, 0.5), {0.9796, 0.0179, 0.0024}, kFourDigits, "sharper");
  check.Line("T = 1", Softmax({3, 1, 0}, 1), {0.8438, 0.1142, 0.0420}, kFourDigits);
  check.Line("T = 2", Softmax({3, 1, 0}, 2), {0.6285, 0.2312, 0.1402}, kFourDigits,
             "flatter; = example 1");
}

void ShowLimits(Checker& check) {
  std::printf("\n4. The limits of the temperature, z = [3, 1, 0]\n");
  check.Line("T = 0.05", Softmax({3, 1, 0}, 0.05), {1, 0, 0}, kFourDigits);
  check.Line("T -> 0 (-T 0)", Softmax({3, 1, 0}, 0), {1, 0, 0}, kExact, "hardmax");
  check.Line("T -> 0, z = [2, 2, 1]", Softmax({2, 2, 1}, 0), {0.5, 0.5, 0}, kExact,
             "ties share the mass");
  check.Line("T = 1000", Softmax({3, 1, 0}, 1000), {0.3339, 0.3332, 0.3329}, kFourDigits);
  check.Line("T -> inf (-T inf)", Softmax({3, 1, 0}, INFINITY), {1.0 / 3, 1.0 / 3, 1.0 / 3}, kExact,
             "uniform");

  std::printf("\n5. Equal logits, equal shares\n");
  check.Line("softmax([0, 0, 0])", Softmax({0, 0, 0}), {1.0 / 3, 1.0 / 3, 1.0 / 3}, kExact);
}

void ShowSigmoid(Checker& check) {
  std::printf(
      "\n6. Two classes are a sigmoid: softmax([a, b])_0 = σ(a - b) = 1/(1 + exp(b - a))\n");
  const double pairs[][2] = {{2, 0.5}, {-1, 3}, {20, 0}};
  for (const auto& pair : pairs) {
    const double a = pair[0], b = pair[1];
    const double sigmoid = 1 / (1 + std::exp(b - a));
    const std::string label =
        "a = " + FormatNumber(a, smx::DType::kF64) + ", b = " + FormatNumber(b, smx::DType::kF64);
    check.Line(label, {Softmax({a, b})[0]}, {sigmoid}, 1e-15,
               "σ(" + FormatNumber(a - b, smx::DType::kF64) +
                   ") = " + FormatNumber(sigmoid, smx::DType::kF64, 8));
  }
}

void ShowSpeed() {
  constexpr std::int64_t kRows = 4096, kCols = 1000;
  const int threads = smx::get_num_threads();
  AlignedFloats input(kRows * kCols), output(kRows * kCols);
  FillNormal(input.span(), 3.0, 20240611);
  const Measurement m =
      MeasureAgainstCopy(Op::kSoftmax, input, output, kRows, kCols, threads, 5, 0.01);
  std::printf(
      "\nSpeed: softmax on 4096x1000 f32, %d thread%s: %.3f ns/element, %.2fx the time\n"
      "of a plain copy of the same bytes (%.3f ns/element)\n",
      threads, threads == 1 ? "" : "s", m.smx_ns_per_element,
      m.smx_ns_per_element / m.copy_ns_per_element, m.copy_ns_per_element);
  std::printf("(smx bench measures more shapes and ops)\n");
}

}  // namespace

int RunDemo(Args args) {
  ArgReader reader(args);
  bool practice = false;
  while (!reader.done()) {
    if (!reader.AtOption()) {
      throw UsageError("smx demo takes no arguments, got '" + reader.TakePositional() + "'");
    }
    const std::string name = reader.TakeOption();
    if (name == "--practice") {
      reader.TakeNoValue();
      practice = true;
      continue;
    }
    if (name != "-h" && name != "--help") throw UnknownOption(name);
    PrintDemoUsage(stdout);
    return kExitOk;
  }
  if (practice) return RunPracticeProblems();
  std::printf("smx %s demo: each result below is computed by smx (f64, SIMD target %s)\n\n",
              smx::version(), smx::simd_target());
  Checker check;
  ShowBasics(check);
  ShowLimits(check);
  ShowSigmoid(check);
  std::fflush(stdout);
  ShowSpeed();
  if (check.failed() > 0) {
    std::printf("\n%d of %d results FAILED.\n", check.failed(), check.checked());
    return kExitRuntime;
  }
  std::printf("\nAll %d results match their known values.\n", check.checked());
  return kExitOk;
}

}  // namespace smx_cli
