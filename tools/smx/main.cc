// smx: the command-line tool. Dispatches to the subcommands; every error ends here as one line on
// stderr and exit code 2 (usage) or 1 (anything else).
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"
#include "commands.h"

namespace smx_cli {
namespace {

int Dispatch(const std::vector<std::string_view>& argv) {
  if (argv.empty()) {
    PrintUsage(stdout);
    return kExitOk;
  }
  const std::string_view command = argv[0];
  const Args rest(argv.data() + 1, argv.size() - 1);
  if (command == "help" || command == "--help" || command == "-h") {
    if (!rest.empty()) {
      const std::vector<std::string_view> help = {rest[0], "--help"};
      return Dispatch(help);
    }
    PrintUsage(stdout);
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    PrintVersion(stdout);
    return kExitOk;
  }
  if (const std::optional<Op> op = FindOp(command)) return RunOpCommand(*op, rest);
  if (command == "log_softmax") return RunOpCommand(Op::kLogSoftmax, rest);  // the API's spelling
  if (command == "cross-entropy" || command == "cross_entropy") return RunCrossEntropy(rest);
  if (command == "attention") return RunAttention(rest);
  if (command == "sample") return RunSample(rest);
  if (command == "plot") return RunPlot(rest);
  if (command == "explain") return RunExplain(rest);
  if (command == "demo") return RunDemo(rest);
  if (command == "bench") return RunBench(rest);
  if (command == "info") return RunInfo(rest);
  if (!command.empty() && command[0] == '-') {
    throw UsageError("unknown option '" + std::string(command) + "' (see 'smx help')");
  }
  throw UsageError("unknown command '" + std::string(command) + "' (see 'smx help')");
}

}  // namespace
}  // namespace smx_cli

int main(int argc, char** argv) {
  using smx_cli::kExitRuntime;
  try {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    return smx_cli::Dispatch(args);
  } catch (const smx_cli::CliError& error) {
    std::fprintf(stderr, "smx: error: %s\n", error.what());
    return error.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "smx: error: out of memory\n");
    return kExitRuntime;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "smx: error: %s\n", error.what());
    return kExitRuntime;
  } catch (...) {
    std::fprintf(stderr, "smx: error: unexpected failure\n");
    return kExitRuntime;
  }
}
