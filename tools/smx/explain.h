// `--explain`: an op's computation on one row, step by step as a textbook writes it, with the
// actual numbers, checked against the library's own result.
//
// One mechanism serves every op: an op joins by writing an ExplainFn (the textbook computation,
// returned as a list of steps) and adding it to the table in explain.cc; one renderer prints them
// all.
#ifndef SMX_TOOLS_EXPLAIN_H_
#define SMX_TOOLS_EXPLAIN_H_

#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smx/tensor.h"

namespace smx_cli {

struct ExplainStep {
  std::string title;           // "Subtract the maximum"
  std::string formula;         // "s_i = z_i - m"
  std::vector<double> values;  // what the formula gives: one number or a row
  bool is_row = true;          // print values as [a, b, c] (a row) or as one number
  std::string why;             // why the step is there, when that is not obvious; may be empty
};

// Helpers of the explainers (explain_*.cc), which compute in long double.
std::string ExplainNumber(double value);  // 6 significant digits
std::vector<double> ToDoubles(const std::vector<long double>& values);
ExplainStep RowStep(std::string title, std::string formula, std::vector<double> values,
                    std::string why = "");
ExplainStep NumberStep(std::string title, std::string formula, double value,
                       std::string why = "");

struct Explanation {
  std::string heading;  // "softmax of a row of 3 logits, T = 0.5"
  std::vector<ExplainStep> steps;
  std::vector<double> result;  // the textbook answer for the row
  bool result_is_row = true;
  // The bound the library promises, which the check against it uses: the softmax family's ulps
  // (softmax.h), the losses' relative bound (losses.h: 1e-5 for f32, 1e-12 for f64), or
  // attention's relative and absolute one (attention.h: 1e-5 and 1e-5 for f32, 1e-12 and 1e-15
  // for f64).
  enum class Bound { kUlp, kRelative, kAttention };
  Bound bound = Bound::kUlp;
};

// The textbook computation for one row at `temperature` (1 for an op without one). It works in
// long double from the row's exact values, independently of the library's kernels.
using ExplainFn = Explanation (*)(std::span<const double> row, double temperature);

// The explainer for the op named `op` on the command line, or nullptr.
ExplainFn FindExplainer(std::string_view op);

// How an explanation is printed: plain text at most 80 columns wide for a terminal, or Markdown
// for notes (--markdown: a numbered list, formulas and numbers as code).
enum class ExplainStyle { kTerminal, kMarkdown };

// Prints `explanation`, then the textbook result beside `library_result` (the library's output for
// the same row, in `dtype`) and whether they agree within the library's error bound for `dtype`
// (explanation.bound). Returns whether they agree.
bool RenderExplanation(const Explanation& explanation, std::span<const double> library_result,
                       smx::DType dtype, std::FILE* out,
                       ExplainStyle style = ExplainStyle::kTerminal);

// Prints a paragraph of the explanation's preamble ("The input holds 3 rows ...; this explains
// the first."), wrapped for a terminal, one line in Markdown, followed by a blank line.
void PrintExplainNote(std::FILE* out, const std::string& text, ExplainStyle style);

// The names of the ops FindExplainer knows, in the table's order.
std::vector<std::string_view> ExplainedOps();

}  // namespace smx_cli

#endif  // SMX_TOOLS_EXPLAIN_H_
