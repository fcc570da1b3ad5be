// The explainer registry and the one renderer of explanations.
#include "explain.h"

#include <algorithm>
#include <cmath>

#include "explain_calculus.h"
#include "explain_sigmoid.h"
#include "explain_softmax.h"
#include "numbers.h"

namespace smx_cli {
namespace {

struct Explainer {
  std::string_view op;  // the op's command-line name
  ExplainFn explain;
};

// Every op that --explain knows. A new op adds its line here.
constexpr Explainer kExplainers[] = {
    {"softmax", ExplainSoftmax},        {"log-softmax", ExplainLogSoftmax},
    {"logsumexp", ExplainLogSumExp},    {"jacobian", ExplainJacobian},
    {"entropy", ExplainEntropy},        {"sigmoid", ExplainSigmoid},
    {"log-sigmoid", ExplainLogSigmoid}, {"softplus", ExplainSoftplus},
};

constexpr int kWidth = 80;
constexpr int kStepIndent = 4;
constexpr std::size_t kMaxShownValues = 12;  // longer rows show their head and tail only
constexpr int kStepDigits = 6;               // steps are read, not copied: 6 digits suffice

// Columns a UTF-8 string takes (formulas use a few symbols such as Σ, each one column).
int DisplayWidth(std::string_view text) {
  int width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

// Prints `line` followed by `pieces` separated by spaces, starting a new line (indented by
// `indent` columns) whenever the next piece would pass kWidth.
void PrintFilled(std::FILE* out, std::string line, int indent,
                 const std::vector<std::string>& pieces) {
  bool line_has_piece = false;
  for (const std::string& piece : pieces) {
    if (line_has_piece && DisplayWidth(line) + 1 + DisplayWidth(piece) > kWidth) {
      std::fprintf(out, "%s\n", line.c_str());
      line.assign(indent, ' ');
      line_has_piece = false;
    }
    if (line_has_piece) line += ' ';
    line += piece;
    line_has_piece = true;
  }
  std::fprintf(out, "%s\n", line.c_str());
}

// Prints `items` after `prefix`, wrapped to kWidth; continuation lines line up under the first
// item.
void PrintItems(std::FILE* out, const std::string& prefix, const std::vector<std::string>& items,
                bool bracketed) {
  const std::string line = prefix + (bracketed ? "[" : "");
  int indent = DisplayWidth(line);
  if (indent > kWidth / 2) indent = kStepIndent + 2;
  std::vector<std::string> pieces;
  pieces.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const bool last = i + 1 == items.size();
    pieces.push_back(items[i] + (last ? (bracketed ? "]" : "") : ","));
  }
  PrintFilled(out, line, indent, pieces);
}

// Prints `text` word-wrapped to kWidth, the first line after `prefix`, the rest under its text.
void PrintWrapped(std::FILE* out, const std::string& prefix, std::string_view text) {
  std::vector<std::string> words;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) words.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  PrintFilled(out, prefix, DisplayWidth(prefix), words);
}

// The row as printed items, its middle elided when long.
std::vector<std::string> RowItems(std::span<const double> values, smx::DType dtype, int digits) {
  std::vector<std::string> items;
  const bool elide = values.size() > kMaxShownValues;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (elide && i == 8) {  // the first 8, "...", the last 2
      items.push_back("...");
      i = values.size() - 3;
      continue;
    }
    items.push_back(FormatNumber(values[i], dtype, digits));
  }
  return items;
}

// The items as one Markdown code span: "`[a, b, c]`" (a row) or "`a`".
std::string MarkdownValues(const std::vector<std::string>& items, bool bracketed) {
  std::string text = bracketed ? "[" : "";
  for (std::size_t i = 0; i < items.size(); ++i) text += (i > 0 ? ", " : "") + items[i];
  return text + (bracketed ? "]" : "");
}

double RoundTo(smx::DType dtype, double value) {
  switch (dtype) {
    case smx::DType::kF64: return value;
    case smx::DType::kF32: return static_cast<float>(value);
    case smx::DType::kF16: return smx::to_float(smx::to_float16(static_cast<float>(value)));
    case smx::DType::kBF16: return smx::to_float(smx::to_bfloat16(static_cast<float>(value)));
  }
  return value;
}

// The library's promise (softmax.h): 8 ulp for f64, 4 for f32; 16-bit results are rounded once from
// f32, so within 1 ulp of their own.
struct Tolerance {
  double ulps;
  double epsilon;     // the dtype's machine epsilon
  double min_normal;  // below it an ulp no longer shrinks
  double floor;       // an absolute difference always accepted (f32 results below 2^-126)
};

Tolerance ToleranceOf(smx::DType dtype) {
  switch (dtype) {
    case smx::DType::kF64: return {8, 0x1p-52, 0x1p-1022, 0};
    case smx::DType::kF32: return {4, 0x1p-23, 0x1p-126, 1e-37};
    case smx::DType::kF16: return {1, 0x1p-10, 0x1p-14, 0};
    case smx::DType::kBF16: return {1, 0x1p-7, 0x1p-126, 0};
  }
  return {8, 0x1p-52, 0x1p-1022, 0};
}

// Distance in ulps of `dtype`; 0 for equal specials, +inf where only one side is special.
double UlpDistance(double textbook, double library, const Tolerance& tolerance) {
  if (std::isnan(textbook) || std::isnan(library)) {
    return std::isnan(textbook) && std::isnan(library) ? 0 : INFINITY;
  }
  if (std::isinf(textbook) || std::isinf(library)) return textbook == library ? 0 : INFINITY;
  const double difference = std::fabs(textbook - library);
  if (difference <= tolerance.floor) return 0;
  return difference / (tolerance.epsilon * std::max(std::fabs(textbook), tolerance.min_normal));
}

// The losses' promise (losses.h): 1e-5 relative for f32, 1e-12 for f64, as the golden cases check
// them (an absolute floor below which a difference always passes); 16-bit results are computed in
// f32's way and rounded once, so within an ulp of their own. Attention's (attention.h) has the
// same relative part and, for f32, an absolute 1e-5.
struct RelativeBound {
  double relative;
  double absolute;
};

RelativeBound RelativeBoundOf(smx::DType dtype, Explanation::Bound kind) {
  // Attention's f32 sums of products carry an absolute error where the output is near 0.
  const double attention_absolute = kind == Explanation::Bound::kAttention ? 1e-5 : 0;
  switch (dtype) {
    case smx::DType::kF64: return {1e-12, 1e-15};
    case smx::DType::kF32: return {1e-5, std::max(1e-7, attention_absolute)};
    case smx::DType::kF16: return {0x1p-10, std::max(0x1p-24, attention_absolute)};
    case smx::DType::kBF16: return {0x1p-7, std::max(1e-7, attention_absolute)};
  }
  return {1e-12, 1e-15};
}

// |library - textbook| relative to |textbook| (to absolute / relative where |textbook| is below
// that), so that it passes exactly when it is at most bound.relative; 0 for equal specials, +inf
// where only one side is special.
double RelativeDistance(double textbook, double library, const RelativeBound& bound) {
  if (std::isnan(textbook) || std::isnan(library)) {
    return std::isnan(textbook) && std::isnan(library) ? 0 : INFINITY;
  }
  if (std::isinf(textbook) || std::isinf(library)) return textbook == library ? 0 : INFINITY;
  return std::fabs(textbook - library) /
         std::max(std::fabs(textbook), bound.absolute / bound.relative);
}

// The steps, numbered: wrapped to kWidth, or as a Markdown list (each item's title in bold, its
// formula and values as code, its "why" a paragraph of the item).
void PrintSteps(std::FILE* out, const std::vector<ExplainStep>& steps, ExplainStyle style) {
  const std::string indent(kStepIndent, ' ');
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const ExplainStep& step = steps[i];
    const std::string number = std::to_string(i + 1) + ". ";
    const std::vector<std::string> items = RowItems(step.values, smx::DType::kF64, kStepDigits);
    const std::string equals = step.values.empty() ? "" : " = ";
    if (style == ExplainStyle::kMarkdown) {
      const std::string formula = step.formula + equals + MarkdownValues(items, step.is_row);
      std::fprintf(out, "%s**%s**%s\n", number.c_str(), step.title.c_str(),
                   formula.empty() ? "" : (": `" + formula + "`").c_str());
      const std::string item_indent(number.size(), ' ');
      if (!step.why.empty())
        std::fprintf(out, "\n%s*Why:* %s\n", item_indent.c_str(), step.why.c_str());
      if (!step.why.empty() && i + 1 < steps.size()) std::fprintf(out, "\n");
      continue;
    }
    std::fprintf(out, "\n");
    PrintWrapped(out, number, step.title);
    const std::string prefix = indent + step.formula + equals;
    if (step.values.empty()) {
      if (!step.formula.empty()) std::fprintf(out, "%s\n", prefix.c_str());
    } else {
      PrintItems(out, prefix, items, step.is_row);
    }
    if (!step.why.empty()) PrintWrapped(out, indent + "Why: ", step.why);
  }
}

// One line of the result block: "    textbook: [a, b]" wrapped, or "- textbook: `[a, b]`".
void PrintResultLine(std::FILE* out, const std::string& label,
                     const std::vector<std::string>& items, bool bracketed, ExplainStyle style) {
  if (style == ExplainStyle::kMarkdown) {
    std::fprintf(out, "- %s `%s`\n", label.c_str(), MarkdownValues(items, bracketed).c_str());
    return;
  }
  PrintItems(out, std::string(kStepIndent, ' ') + label + std::string(10 - label.size(), ' '),
             items, bracketed);
}

}  // namespace

ExplainFn FindExplainer(std::string_view op) {
  for (const Explainer& explainer : kExplainers) {
    if (explainer.op == op) return explainer.explain;
  }
  return nullptr;
}

void PrintExplainNote(std::FILE* out, const std::string& text, ExplainStyle style) {
  if (style == ExplainStyle::kMarkdown) {
    std::fprintf(out, "%s\n\n", text.c_str());
  } else {
    PrintWrapped(out, "", text);
    std::fprintf(out, "\n");
  }
}

std::vector<std::string_view> ExplainedOps() {
  std::vector<std::string_view> names;
  for (const Explainer& explainer : kExplainers) names.push_back(explainer.op);
  return names;
}

bool RenderExplanation(const Explanation& explanation, std::span<const double> library_result,
                       smx::DType dtype, std::FILE* out, ExplainStyle style) {
  const bool markdown = style == ExplainStyle::kMarkdown;
  if (markdown) {
    std::fprintf(out, "**%s**\n\n", explanation.heading.c_str());
  } else {
    PrintWrapped(out, "", explanation.heading);
  }
  PrintSteps(out, explanation.steps, style);

  std::vector<double> textbook(explanation.result.size());
  for (std::size_t i = 0; i < textbook.size(); ++i) {
    textbook[i] = RoundTo(dtype, explanation.result[i]);
  }
  std::fprintf(out, markdown ? "\n**Result (%s)**\n\n" : "\nResult (%s)\n", smx::dtype_name(dtype));
  PrintResultLine(out, "textbook:", RowItems(textbook, dtype, 0), explanation.result_is_row, style);
  PrintResultLine(out, "smx:", RowItems(library_result, dtype, 0), explanation.result_is_row,
                  style);
  if (markdown) std::fprintf(out, "\n");
  const std::string indent = markdown ? "" : std::string(kStepIndent, ' ');

  const bool relative = explanation.bound != Explanation::Bound::kUlp;
  const Tolerance tolerance = ToleranceOf(dtype);
  const RelativeBound relative_bound = RelativeBoundOf(dtype, explanation.bound);
  const double limit = relative ? relative_bound.relative : tolerance.ulps;
  double worst = 0;
  std::size_t worst_index = 0;
  for (std::size_t i = 0; i < textbook.size() && i < library_result.size(); ++i) {
    const double distance =
        relative ? RelativeDistance(explanation.result[i], library_result[i], relative_bound)
                 : UlpDistance(explanation.result[i], library_result[i], tolerance);
    if (distance > worst) {
      worst = distance;
      worst_index = i;
    }
  }
  const bool agree = textbook.size() == library_result.size() && worst <= limit;
  const std::string bound =
      relative
          ? FormatNumber(limit, smx::DType::kF64, 2) + " relative for " + smx::dtype_name(dtype) +
                " (or " + FormatNumber(relative_bound.absolute, smx::DType::kF64, 2) + " absolute)"
          : FormatNumber(limit, smx::DType::kF64) + " ulp of " + smx::dtype_name(dtype);
  const std::string unit = relative ? " relative" : " ulp";
  if (agree) {
    PrintWrapped(out, indent,
                 "The textbook result matches smx (largest difference " +
                     FormatNumber(worst, smx::DType::kF64, 2) + unit + "; smx promises at most " +
                     bound + ").");
  } else {
    PrintWrapped(out, indent,
                 "The textbook result does NOT match smx at element " +
                     std::to_string(worst_index) + ": " + FormatNumber(worst, smx::DType::kF64, 3) +
                     unit + " apart, more than " + bound + ". Please report this.");
  }
  return agree;
}

std::string ExplainNumber(double value) { return FormatNumber(value, smx::DType::kF64, 6); }

std::vector<double> ToDoubles(const std::vector<long double>& values) {
  return std::vector<double>(values.begin(), values.end());
}

ExplainStep RowStep(std::string title, std::string formula, std::vector<double> values,
                    std::string why) {
  return {std::move(title), std::move(formula), std::move(values), true, std::move(why)};
}

ExplainStep NumberStep(std::string title, std::string formula, double value, std::string why) {
  return {std::move(title), std::move(formula), {value}, false, std::move(why)};
}

}  // namespace smx_cli
