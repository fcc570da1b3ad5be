// The subcommands of `smx`, each taking the arguments after its name and returning the exit code.
// Errors are thrown as CliError (cli_error.h) and reported by main().
#ifndef SMX_TOOLS_COMMANDS_H_
#define SMX_TOOLS_COMMANDS_H_

#include <cstdio>
#include <span>
#include <string_view>

#include "ops.h"

namespace smx_cli {

using Args = std::span<const std::string_view>;

int RunOpCommand(Op op, Args args);  // smx softmax|log-softmax|logsumexp
int RunDemo(Args args);              // smx demo
int RunBench(Args args);             // smx bench
int RunInfo(Args args);              // smx info
int RunCrossEntropy(Args args);      // smx cross-entropy
int RunAttention(Args args);         // smx attention
int RunSample(Args args);            // smx sample
int RunPlot(Args args);              // smx plot KIND: SVG, or Unicode bars with --term
int RunExplain(Args args);           // smx explain OP ... (smx OP --explain ...)

void PrintUsage(std::FILE* out);
void PrintOpUsage(Op op, std::FILE* out);
void PrintDemoUsage(std::FILE* out);
void PrintBenchUsage(std::FILE* out);
void PrintCrossEntropyUsage(std::FILE* out);
void PrintAttentionUsage(std::FILE* out);
void PrintSampleUsage(std::FILE* out);
void PrintPlotUsage(std::FILE* out);
void PrintExplainUsage(std::FILE* out);
void PrintVersion(std::FILE* out);

}  // namespace smx_cli

#endif  // SMX_TOOLS_COMMANDS_H_
