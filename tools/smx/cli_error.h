// The one error path of the tool: every problem becomes a CliError, which main() prints as
// "smx: error: <message>" and turns into the exit code.
#ifndef SMX_TOOLS_CLI_ERROR_H_
#define SMX_TOOLS_CLI_ERROR_H_

#include <stdexcept>
#include <string>

namespace smx_cli {

// Exit codes, as most Unix tools use them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // the command was fine but failed: a file, the data
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// A bad option, option value or argument.
inline CliError UsageError(const std::string& message) { return CliError(kExitUsage, message); }
// Bad data, a file that cannot be read or written, or an error reported by the library.
inline CliError RuntimeError(const std::string& message) { return CliError(kExitRuntime, message); }

}  // namespace smx_cli

#endif  // SMX_TOOLS_CLI_ERROR_H_
