// The size of this CPU's caches, for the kernels' blocking decisions.
#ifndef SMX_CORE_CACHE_SIZE_H_
#define SMX_CORE_CACHE_SIZE_H_

#include <cstdint>

namespace smx::internal {

// Bytes of one core's L2 cache as the C library reports it (read once), or 1 MiB where it does
// not say: the smallest L2 of the x86 cores smx is measured on (Zen 5; Emerald Rapids has 2 MiB).
std::int64_t L2CacheBytes();

}  // namespace smx::internal

#endif  // SMX_CORE_CACHE_SIZE_H_
