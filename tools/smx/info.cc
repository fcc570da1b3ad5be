// smx info and smx --version.
#include <cstdio>
#include <string>
#include <thread>

#include "args.h"
#include "commands.h"
#include "smx/runtime.h"

namespace smx_cli {

void PrintVersion(std::FILE* out) {
  std::fprintf(out, "smx %s (SIMD target %s)\n", smx::version(), smx::simd_target());
}

int RunInfo(Args args) {
  ArgReader reader(args);
  while (!reader.done()) {
    if (!reader.AtOption()) {
      throw UsageError("smx info takes no arguments, got '" + reader.TakePositional() + "'");
    }
    const std::string name = reader.TakeOption();
    if (name != "-h" && name != "--help") throw UnknownOption(name);
    std::puts("Usage: smx info\n\nPrints the version, the SIMD targets and the thread counts.");
    return kExitOk;
  }
  std::string targets;
  for (const std::string& target : smx::compiled_targets()) {
    targets += (targets.empty() ? "" : ", ") + target;
  }
  std::printf("smx %s\n", smx::version());
  std::printf("SIMD targets compiled:  %s (best first)\n", targets.c_str());
  std::printf("SIMD target chosen:     %s\n", smx::simd_target());
  std::printf("threads smx uses:       %d\n", smx::get_num_threads());
  std::printf("hardware cores:         %u\n", std::thread::hardware_concurrency());
  return kExitOk;
}

}  // namespace smx_cli
