// Threads, version and SIMD target information (include/smx/runtime.h, src/core/parallel.h).
#include "smx/runtime.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/parallel.h"
#include "hwy/targets.h"

namespace smx {
namespace {

int DefaultThreads() {
  if (const char* env = std::getenv("SMX_NUM_THREADS")) {
    int n = 0;
    const char* end = env + std::strlen(env);
    auto [ptr, ec] = std::from_chars(env, end, n);
    if (ec == std::errc() && ptr == end && n > 0) return n;
  }
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 1;
}

std::atomic<int>& ThreadSetting() {
  static std::atomic<int> threads{DefaultThreads()};
  return threads;
}

}  // namespace

void set_num_threads(int num_threads) {
  ThreadSetting().store(num_threads > 0 ? num_threads : DefaultThreads());
}
int get_num_threads() { return ThreadSetting().load(); }

const char* version() { return SMX_VERSION; }

const char* simd_target() {
  // Dispatch picks the best target that is both supported and compiled, as HWY_DYNAMIC_DISPATCH
  // does; hwy::SupportedTargets() honours SetSupportedTargetsForTest, so tests see their choice.
  const std::int64_t usable = hwy::SupportedTargets() & HWY_TARGETS;
  if (usable == 0) return "none";
  const std::int64_t best = usable & -usable;  // lowest bit = best target
  return hwy::TargetName(best);
}

std::vector<std::string> compiled_targets() {
  std::vector<std::string> names;
  for (std::int64_t bits = HWY_TARGETS; bits != 0; bits &= bits - 1) {
    names.emplace_back(hwy::TargetName(bits & -bits));
  }
  return names;
}

namespace internal {

int NumThreads() { return get_num_threads(); }

int ThreadsFor(std::int64_t work, std::int64_t num_tasks) {
  const std::int64_t by_work = std::max<std::int64_t>(1, work / kMinWorkPerThread);
  return static_cast<int>(std::min<std::int64_t>({NumThreads(), by_work, num_tasks}));
}

void ParallelFor(std::int64_t num_tasks, int threads,
                 FunctionRef<void(std::int64_t, std::int64_t)> body) {
  if (threads <= 1 || num_tasks <= 1) {
    body(0, num_tasks);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t team = omp_get_num_threads();
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t begin = num_tasks * t / team;
    const std::int64_t end = num_tasks * (t + 1) / team;
    if (begin < end) body(begin, end);
  }
}

}  // namespace internal
}  // namespace smx
