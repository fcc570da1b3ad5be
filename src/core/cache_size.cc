#include "core/cache_size.h"

#include <unistd.h>

namespace smx::internal {

std::int64_t L2CacheBytes() {
  static const std::int64_t bytes = [] {
    constexpr std::int64_t kFallback = std::int64_t{1} << 20;
#ifdef _SC_LEVEL2_CACHE_SIZE
    // glibc answers from CPUID on x86; 0 or -1 where it cannot tell (other CPUs, other libcs).
    const long reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (reported > 0) return static_cast<std::int64_t>(reported);
#endif
    return kFallback;
  }();
  return bytes;
}

}  // namespace smx::internal
