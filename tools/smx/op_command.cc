// smx softmax | log-softmax | logsumexp | sigmoid | log-sigmoid | softplus | jacobian: read the
// input, run the library, print or write the result.
#include <cstdio>
#include <string>

#include "array.h"
#include "cli_error.h"
#include "commands.h"
#include "explain.h"
#include "file_io.h"
#include "npy.h"
#include "op_args.h"
#include "text_io.h"

namespace smx_cli {
namespace {

Array LoadInput(const OpArgs& args) {
  const smx::DType text_dtype = args.dtype.value_or(smx::DType::kF64);
  if (args.input.empty()) return ParseValues(args.values, text_dtype);
  if (args.input == "-") {
    return ParseRows(ReadStdin(), TextFormat::kText, text_dtype, "standard input");
  }
  const std::string extension = LowerExtension(args.input);
  const std::string source = "'" + args.input + "'";
  if (extension == ".csv") {
    return ParseRows(ReadFile(args.input), TextFormat::kCsv, text_dtype, source);
  }
  if (extension == ".txt") {
    return ParseRows(ReadFile(args.input), TextFormat::kText, text_dtype, source);
  }
  Array array = ReadNpy(args.input);
  if (args.dtype && *args.dtype != array.dtype) {
    throw UsageError(std::string("--dtype ") + smx::dtype_name(*args.dtype) + " does not match " +
                     source + ", which holds " + smx::dtype_name(array.dtype) +
                     " (a .npy file is computed in its own dtype)");
  }
  return array;
}

// Checks that the op can run on `x` and returns the axis counted from 0 (0 for the elementwise
// ops, which ignore it).
int CheckInput(const Array& x, int axis, Op op) {
  if (x.num_elements() == 0) {
    throw RuntimeError("empty input: shape " + FormatShape(x.shape) + " holds no values");
  }
  if (!TakesAxis(op)) return 0;
  if (x.rank() == 0) {
    throw RuntimeError(std::string("the input is a single number (shape ()); ") + OpName(op) +
                       " works along an axis of at least one value");
  }
  if (x.num_elements() == 0) {
    throw RuntimeError("empty input: shape " + FormatShape(x.shape) + " holds no values");
  }
  if (axis < -x.rank() || axis >= x.rank()) {
    throw UsageError("invalid axis " + std::to_string(axis) + " for an input of shape " +
                     FormatShape(x.shape) + ": must be from " + std::to_string(-x.rank()) + " to " +
                     std::to_string(x.rank() - 1));
  }
  return axis < 0 ? axis + x.rank() : axis;
}

// Explains the first row along `axis` (an elementwise op: along the last axis, a row as printed);
// returns whether the explanation agrees with the library.
bool Explain(const OpArgs& args, const Array& x, const Array& y, int axis) {
  const ExplainFn explain = FindExplainer(OpName(args.op));
  if (explain == nullptr) throw UsageError(std::string(OpName(args.op)) + " has no --explain");
  const ExplainStyle style = args.markdown ? ExplainStyle::kMarkdown : ExplainStyle::kTerminal;
  if (!TakesAxis(args.op)) axis = x.rank() - 1;
  const std::int64_t rows = x.num_elements() / x.shape[axis];
  if (rows > 1) {
    PrintExplainNote(stdout,
                     "The input holds " + std::to_string(rows) + " rows of " +
                         std::to_string(x.shape[axis]) + " values (along axis " +
                         std::to_string(axis) + "); this explains the first.",
                     style);
  }
  const Explanation explanation = explain(FirstLane(x, axis), args.temperature);
  if (MatrixPerRow(args.op)) {  // the first row's K x K matrix opens y
    const std::int64_t k = x.shape[axis];
    std::vector<double> first(static_cast<std::size_t>(k * k));
    for (std::int64_t i = 0; i < k * k; ++i) first[static_cast<std::size_t>(i)] = y.Get(i);
    return RenderExplanation(explanation, first, y.dtype, stdout, style);
  }
  return RenderExplanation(explanation, FirstLane(y, axis), y.dtype, stdout, style);
}

// The shape of a .npy result: logsumexp drops the reduced axis.
std::vector<std::int64_t> NpyShape(Op op, std::vector<std::int64_t> shape, int axis) {
  if (ReducesAxis(op)) shape.erase(shape.begin() + axis);
  return shape;
}

// `scalar`: the input was 0-d, and so is a .npy result.
void WriteOutput(const OpArgs& args, const Array& y, int axis, bool scalar) {
  if (args.output.empty() || args.output == "-") {
    const std::string text = FormatRows(y, " ", args.significant_digits);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  if (LowerExtension(args.output) == ".csv") {
    WriteFileAtomically(args.output, {FormatRows(y, ",", args.significant_digits)});
    return;
  }
  WriteNpy(args.output, y, scalar ? std::vector<std::int64_t>{} : NpyShape(args.op, y.shape, axis));
}

}  // namespace

int RunOpCommand(Op op, Args raw_args) {
  const OpArgs args = ParseOpArgs(op, raw_args);
  if (args.help) {
    PrintOpUsage(op, stdout);
    return kExitOk;
  }
  Array x = LoadInput(args);
  const int axis = CheckInput(x, args.axis, op);
  // An elementwise op on a 0-d .npy array: computed as one value, written back as 0-d.
  const bool scalar = x.rank() == 0;
  if (scalar) x.shape = {1};
  // logsumexp keeps the reduced axis with size 1 here, so that printed and .csv results have one
  // line per input row; WriteOutput drops it from .npy files.
  std::vector<std::int64_t> y_shape = x.shape;
  if (ReducesAxis(op)) y_shape[axis] = 1;
  if (MatrixPerRow(op)) {  // [..., K, ...] -> [..., ..., K, K]
    y_shape.erase(y_shape.begin() + axis);
    y_shape.push_back(x.shape[axis]);
    y_shape.push_back(x.shape[axis]);
  }
  Array y = Array::Zeros(x.dtype, y_shape);
  const smx::Status status = RunOp(op, x.ConstRef(), y.Ref(), args.temperature, axis);
  if (!status.ok()) throw RuntimeError(status.message());

  if (args.explain && !Explain(args, x, y, axis)) {
    throw RuntimeError("the textbook computation and smx disagree (see above)");
  }
  // --explain replaces the printed result, not a file asked for with -o.
  const bool printing = args.output.empty() || args.output == "-";
  if (!args.explain || !printing) WriteOutput(args, y, axis, scalar);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw RuntimeError("cannot write to standard output");
  }
  return kExitOk;
}

}  // namespace smx_cli
