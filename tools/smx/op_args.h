// The command line of `smx softmax|log-softmax|logsumexp`.
#ifndef SMX_TOOLS_OP_ARGS_H_
#define SMX_TOOLS_OP_ARGS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ops.h"
#include "smx/tensor.h"

namespace smx_cli {

struct OpArgs {
  Op op = Op::kSoftmax;
  double temperature = 1.0;
  int axis = -1;
  std::optional<smx::DType> dtype;  // --dtype, for text and .csv input
  int significant_digits = 0;       // --precision; 0 = shortest round-trip digits
  std::string input;                // -i: a .npy or .csv path, or "-" for stdin; empty: values
  std::string output;               // -o: a .npy or .csv path; empty or "-": print
  bool explain = false;
  bool markdown = false;  // --markdown: --explain's steps as Markdown
  bool help = false;
  std::vector<std::string> values;  // the row given on the command line
};

// Parses and checks the arguments after the op name. A UsageError names the bad option or value,
// e.g. "invalid temperature '-1': must be >= 0".
OpArgs ParseOpArgs(Op op, std::span<const std::string_view> args);

// "x.npy" -> ".npy"; the extension in lower case, or "" if none.
std::string LowerExtension(const std::string& path);

// The file commands' paths (cross-entropy, attention). TakeFileName: the value of `option`, a
// UsageError when empty. CheckNpyPath: a UsageError unless `path` is a .npy file ("-i 'x.txt':
// cross-entropy reads .npy files"). CheckOutputPath: a UsageError unless `path` is .npy or .csv.
class ArgReader;

// --explain and --markdown (its steps as Markdown), which every command with an explanation takes:
// reads option `name` when it is one of them (true), else leaves it (false). CheckMarkdown, once
// the options are read: a UsageError for --markdown without --explain.
bool TakeExplainOption(const std::string& name, ArgReader& reader, bool& explain, bool& markdown);
void CheckMarkdown(bool markdown, bool explain);

std::string TakeFileName(ArgReader& reader, const std::string& option);
void CheckNpyPath(const char* command, const std::string& option, const std::string& path);
void CheckOutputPath(const std::string& option, const std::string& path);

}  // namespace smx_cli

#endif  // SMX_TOOLS_OP_ARGS_H_
