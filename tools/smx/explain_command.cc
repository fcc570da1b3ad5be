// smx explain OP ARGS...: the same as `smx OP --explain ARGS...`, one code path: the op's own
// command runs with --explain, so the steps, the options and the errors are the op's.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"
#include "commands.h"
#include "explain.h"

namespace smx_cli {
namespace {

// The ops `smx explain` takes, in the order usage lists them.
std::string ExplainableOps() {
  std::string names;
  for (std::string_view op : ExplainedOps()) names += std::string(op) + ", ";
  return names + "cross-entropy, attention, sample";
}

}  // namespace

void PrintExplainUsage(std::FILE* out) {
  std::fprintf(out,
               "Usage: smx explain OP [OPTIONS...] [VALUES...]  (the same as smx OP --explain)\n"
               "\n"
               "Shows the computation of OP on its first row step by step, as a textbook's\n"
               "worked solution with the actual numbers, and checks the answer against the\n"
               "library's own result (exit code 1 if they disagree).\n"
               "\n"
               "OP: %s.\n"
               "The options are OP's own (see smx OP --help), and:\n"
               "  --markdown   print the steps as Markdown, for notes\n"
               "\n"
               "Examples:\n"
               "  smx explain softmax 1000 1001 1002     why nothing overflows\n"
               "  smx explain entropy -T 2 5 0 -5        temperature raises the entropy\n"
               "  smx explain jacobian --markdown 1 0 -1\n"
               "  smx explain cross-entropy -i logits.npy --target labels.npy\n",
               ExplainableOps().c_str());
}

int RunExplain(Args args) {
  if (args.empty())
    throw UsageError("explain needs an op: smx explain OP ... (OP: " + ExplainableOps() + ")");
  const std::string_view op = args[0];
  if (op == "-h" || op == "--help") {
    PrintExplainUsage(stdout);
    return kExitOk;
  }
  // --explain first: after a '--' in the op's arguments it would be read as a value.
  std::vector<std::string_view> op_args = {"--explain"};
  op_args.insert(op_args.end(), args.begin() + 1, args.end());
  if (op == "cross-entropy" || op == "cross_entropy") return RunCrossEntropy(op_args);
  if (op == "attention") return RunAttention(op_args);
  if (op == "sample") return RunSample(op_args);
  const std::optional<Op> found = FindOp(op);
  if (!found || FindExplainer(OpName(*found)) == nullptr) {
    throw UsageError("smx explain has no op '" + std::string(op) + "' (OP: " + ExplainableOps() +
                     ")");
  }
  return RunOpCommand(*found, op_args);
}

}  // namespace smx_cli
