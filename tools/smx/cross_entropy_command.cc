// smx cross-entropy: the softmax cross-entropy of .npy logits against class indices or
// probabilities, and its gradient (smx::cross_entropy and smx::cross_entropy_probs, losses.h).
//
// Everything is read, checked and computed before anything is written; the output files are then
// staged and committed together, so an error leaves no file behind.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "array.h"
#include "cli_error.h"
#include "commands.h"
#include "explain.h"
#include "explain_losses.h"
#include "file_io.h"
#include "npy.h"
#include "numbers.h"
#include "op_args.h"
#include "smx/losses.h"
#include "text_io.h"

namespace smx_cli {
namespace {

struct CrossEntropyArgs {
  std::string input;        // -i: the logits, .npy
  std::string target;       // --target: class indices (integers) or probabilities, .npy
  std::string weight;       // --weight: C class weights, .npy; empty: none
  std::string output;       // -o: the loss, .npy or .csv; empty or "-": print
  std::string grad_output;  // --grad-out: the gradient, .npy or .csv; empty: not computed
  std::optional<std::int64_t> ignore_index;
  double label_smoothing = 0;
  smx::Reduction reduction = smx::Reduction::kMean;
  int significant_digits = 0;
  bool explain = false;
  bool markdown = false;  // --markdown: --explain's steps as Markdown
  bool help = false;
};

CrossEntropyArgs ParseCrossEntropyArgs(Args args) {
  CrossEntropyArgs parsed;
  ArgReader reader(args);
  while (!reader.done()) {
    if (!reader.AtOption()) {
      throw UsageError("cross-entropy takes no values, got '" + reader.TakePositional() +
                       "' (give -i LOGITS.npy --target T.npy)");
    }
    const std::string name = reader.TakeOption();
    if (name == "-i" || name == "--input") {
      parsed.input = TakeFileName(reader, name);
    } else if (name == "--target" || name == "-t") {
      parsed.target = TakeFileName(reader, name);
    } else if (name == "--weight" || name == "-w") {
      parsed.weight = TakeFileName(reader, name);
    } else if (name == "-o" || name == "--output") {
      parsed.output = TakeFileName(reader, name);
    } else if (name == "--grad-out") {
      parsed.grad_output = TakeFileName(reader, name);
    } else if (name == "--ignore-index") {
      const std::string text = reader.TakeValue();
      const std::optional<long long> value = ParseInteger(text);
      if (!value) throw UsageError("invalid --ignore-index '" + text + "': must be an integer");
      parsed.ignore_index = *value;
    } else if (name == "--label-smoothing") {
      const std::string text = reader.TakeValue();
      const std::optional<double> value = ParseDouble(text);
      if (!value || !(*value >= 0 && *value <= 1)) {
        throw UsageError("invalid --label-smoothing '" + text + "': must be a number from 0 to 1");
      }
      parsed.label_smoothing = *value;
    } else if (name == "--reduction") {
      const std::string text = reader.TakeValue();
      if (!smx::parse_reduction(text.c_str(), parsed.reduction)) {
        throw UsageError("invalid --reduction '" + text + "': must be none, sum or mean");
      }
    } else if (name == "--precision" || name == "-p") {
      parsed.significant_digits = ParseIntValue(name, reader.TakeValue(), 1, 40);
    } else if (TakeExplainOption(name, reader, parsed.explain, parsed.markdown)) {
    } else if (name == "-h" || name == "--help") {
      reader.TakeNoValue();
      parsed.help = true;
    } else {
      throw UnknownOption(name);
    }
  }
  if (parsed.help) return parsed;
  CheckMarkdown(parsed.markdown, parsed.explain);
  if (parsed.input.empty()) throw UsageError("no logits: give -i LOGITS.npy");
  if (parsed.target.empty()) {
    throw UsageError("no target: give --target T.npy (class indices or probabilities)");
  }
  CheckNpyPath("cross-entropy", "-i", parsed.input);
  CheckNpyPath("cross-entropy", "--target", parsed.target);
  if (!parsed.weight.empty()) CheckNpyPath("cross-entropy", "--weight", parsed.weight);
  if (!parsed.output.empty() && parsed.output != "-") CheckOutputPath("-o", parsed.output);
  if (!parsed.grad_output.empty()) CheckOutputPath("--grad-out", parsed.grad_output);
  if (!parsed.grad_output.empty() && parsed.grad_output == parsed.output) {
    throw UsageError("-o and --grad-out name the same file '" + parsed.output + "'");
  }
  return parsed;
}

// The target: class indices, or probabilities of the logits' shape and dtype.
struct Target {
  std::optional<IndexArray> classes;
  Array probabilities;
};

Target LoadTarget(const std::string& path, const Array& logits, int axis, bool ignore_index_given) {
  std::vector<std::int64_t> sample_shape = logits.shape;
  sample_shape.erase(sample_shape.begin() + axis);
  const std::string want = "class indices (integers) of shape " + FormatShape(sample_shape) +
                           " or probabilities of shape " + FormatShape(logits.shape);
  const std::string file = ReadFile(path);
  Target target;
  if (NpyHoldsIntegers(file, path)) {
    target.classes = ParseNpyIndices(file, path);
    if (target.classes->shape != sample_shape) {
      throw RuntimeError("target '" + path + "' holds class indices of shape " +
                         FormatShape(target.classes->shape) + "; logits of shape " +
                         FormatShape(logits.shape) + " need " + want);
    }
    return target;
  }
  target.probabilities = ParseNpy(file, path);
  if (target.probabilities.shape != logits.shape) {
    throw RuntimeError("target '" + path + "' holds probabilities of shape " +
                       FormatShape(target.probabilities.shape) + "; logits of shape " +
                       FormatShape(logits.shape) + " need " + want);
  }
  if (target.probabilities.dtype != logits.dtype) {
    throw RuntimeError("target '" + path + "' holds " +
                       smx::dtype_name(target.probabilities.dtype) +
                       " probabilities but the logits are " + smx::dtype_name(logits.dtype) +
                       ": save both in one dtype (smx does not convert)");
  }
  if (ignore_index_given) {
    throw UsageError("--ignore-index applies to class-index targets; '" + path +
                     "' holds probabilities");
  }
  return target;
}

Array LoadWeight(const std::string& path, const Array& logits, std::int64_t classes) {
  Array weight = ReadNpy(path);
  if (weight.shape != std::vector<std::int64_t>{classes}) {
    throw RuntimeError("weight '" + path + "' has shape " + FormatShape(weight.shape) +
                       "; it needs one weight per class, shape (" + std::to_string(classes) + ",)");
  }
  if (weight.dtype != logits.dtype) {
    throw RuntimeError("weight '" + path + "' is " + smx::dtype_name(weight.dtype) +
                       " but the logits are " + smx::dtype_name(logits.dtype) +
                       ": save the weights in the logits' dtype (smx does not convert)");
  }
  return weight;
}

// Runs the library: the loss (and the gradient when `grad` is given).
void Compute(const Array& logits, const Target& target, Array& loss, Array* grad,
             const smx::CrossEntropyOptions& options) {
  smx::Status status;
  if (target.classes) {
    const std::span<const std::int64_t> indices(target.classes->values);
    status = grad != nullptr
                 ? smx::cross_entropy(logits.ConstRef(), indices, loss.Ref(), grad->Ref(), options)
                 : smx::cross_entropy(logits.ConstRef(), indices, loss.Ref(), options);
  } else {
    const smx::ConstTensorRef probabilities = target.probabilities.ConstRef();
    status = grad != nullptr
                 ? smx::cross_entropy_probs(logits.ConstRef(), probabilities, loss.Ref(),
                                            grad->Ref(), options)
                 : smx::cross_entropy_probs(logits.ConstRef(), probabilities, loss.Ref(), options);
  }
  if (!status.ok()) throw RuntimeError(status.message());
}

// The mean's divisor D (losses.h): the sum of w[t_n] over the samples not ignored, or N.
double MeanDivisor(const Target& target, const Array& weight, std::int64_t samples,
                   std::int64_t ignore_index) {
  if (!target.classes) return static_cast<double>(samples);
  long double divisor = 0;
  for (const std::int64_t t : target.classes->values) {
    if (t == ignore_index) continue;
    divisor += weight.bytes.empty() ? 1.0L : static_cast<long double>(weight.Get(t));
  }
  return static_cast<double>(divisor);
}

// Explains the first sample, checked against the library's unreduced loss and gradient of it;
// returns whether they agree.
bool Explain(const CrossEntropyArgs& args, const Array& logits, const Target& target,
             const Array& weight, int axis, const smx::CrossEntropyOptions& options) {
  const std::int64_t classes = logits.shape[axis];
  const std::int64_t samples = logits.num_elements() / classes;
  smx::CrossEntropyOptions unreduced = options;
  unreduced.reduction = smx::Reduction::kNone;
  std::vector<std::int64_t> sample_shape = logits.shape;
  sample_shape.erase(sample_shape.begin() + axis);
  Array row_loss = Array::Zeros(logits.dtype, sample_shape);
  Array grad = Array::Zeros(logits.dtype, logits.shape);
  Compute(logits, target, row_loss, &grad, unreduced);

  CrossEntropySample sample;
  sample.logits = FirstLane(logits, axis);
  if (target.classes) {
    sample.target_class = target.classes->values[0];
  } else {
    sample.target_probs = FirstLane(target.probabilities, axis);
  }
  if (!weight.bytes.empty()) sample.weight = FirstLane(weight, 0);
  sample.label_smoothing = options.label_smoothing;
  sample.ignore_index = options.ignore_index;
  sample.reduction = args.reduction;
  sample.divisor = MeanDivisor(target, weight, samples, options.ignore_index);

  const ExplainStyle style = args.markdown ? ExplainStyle::kMarkdown : ExplainStyle::kTerminal;
  if (samples > 1) {
    PrintExplainNote(stdout,
                     "The input holds " + std::to_string(samples) + " samples of " +
                         std::to_string(classes) + " classes (classes along axis " +
                         std::to_string(axis) + "); this explains the first.",
                     style);
  }
  std::vector<double> library = {row_loss.Get(0)};
  for (double g : FirstLane(grad, axis)) library.push_back(g);
  return RenderExplanation(ExplainCrossEntropy(sample), library, logits.dtype, stdout, style);
}

// `array` as .csv text: one line per row of its last axis; a loss, one value per line.
std::string CsvText(const Array& array, int significant_digits, bool column) {
  if (!column) return FormatRows(array, ",", significant_digits);
  Array lines = array;
  lines.shape = {array.num_elements(), 1};
  return FormatRows(lines, ",", significant_digits);
}

std::optional<StagedFile> Stage(const std::string& path, const Array& array, int significant_digits,
                                bool column) {
  if (path.empty() || path == "-") return std::nullopt;
  if (LowerExtension(path) == ".csv") {
    const std::string text = CsvText(array, significant_digits, column);
    return StagedFile(path, {text});
  }
  return StageNpy(path, array, array.shape);
}

}  // namespace

int RunCrossEntropy(Args raw_args) {
  const CrossEntropyArgs args = ParseCrossEntropyArgs(raw_args);
  if (args.help) {
    PrintCrossEntropyUsage(stdout);
    return kExitOk;
  }
  const Array logits = ReadNpy(args.input);
  if (logits.rank() == 0) {
    throw RuntimeError("the logits '" + args.input +
                       "' are a single number (shape ()); cross-entropy needs a row of class "
                       "logits: shape (C,), (N, C) or (N, C, d...)");
  }
  if (logits.num_elements() == 0) {
    throw RuntimeError("empty input: the logits '" + args.input + "' of shape " +
                       FormatShape(logits.shape) + " hold no values");
  }
  // The classes: dim 1 of [N, C, ...] (PyTorch's rule), dim 0 of a single sample [C].
  const int axis = logits.rank() == 1 ? 0 : 1;
  const std::int64_t classes = logits.shape[axis];
  const Target target = LoadTarget(args.target, logits, axis, args.ignore_index.has_value());
  const Array weight = args.weight.empty() ? Array{} : LoadWeight(args.weight, logits, classes);

  smx::CrossEntropyOptions options;
  options.reduction = args.reduction;
  options.ignore_index = args.ignore_index.value_or(-100);
  options.label_smoothing = args.label_smoothing;
  options.axis = axis;
  if (!args.weight.empty()) options.weight = weight.ConstRef();

  std::vector<std::int64_t> loss_shape;  // 0-d for sum and mean
  if (args.reduction == smx::Reduction::kNone) {
    loss_shape = logits.shape;
    loss_shape.erase(loss_shape.begin() + axis);
  }
  Array loss = Array::Zeros(logits.dtype, loss_shape);
  std::optional<Array> grad;
  if (!args.grad_output.empty()) grad = Array::Zeros(logits.dtype, logits.shape);
  Compute(logits, target, loss, grad ? &*grad : nullptr, options);

  if (args.explain && !Explain(args, logits, target, weight, axis, options)) {
    throw RuntimeError("the textbook computation and smx disagree (see above)");
  }
  // Both files are staged before either is committed: an error in the second leaves neither.
  std::optional<StagedFile> loss_file = Stage(args.output, loss, args.significant_digits, true);
  std::optional<StagedFile> grad_file =
      grad ? Stage(args.grad_output, *grad, args.significant_digits, false) : std::nullopt;
  if (loss_file) loss_file->Commit();
  if (grad_file) grad_file->Commit();

  // --explain replaces the printed loss, not a file asked for with -o.
  const bool printing = args.output.empty() || args.output == "-";
  if (printing && !args.explain) {
    Array column = loss;
    column.shape = {loss.num_elements(), 1};
    const std::string text = FormatRows(column, " ", args.significant_digits);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw RuntimeError("cannot write to standard output");
  }
  return kExitOk;
}

}  // namespace smx_cli
