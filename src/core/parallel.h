// Threads for smx ops: one OpenMP parallel region per phase, static partitions of independent
// tasks. A task's result never depends on which thread ran it, so results are bitwise identical
// for any thread count.
#ifndef SMX_CORE_PARALLEL_H_
#define SMX_CORE_PARALLEL_H_

#include <cstdint>

#include "core/function_ref.h"

namespace smx::internal {

// The thread count set by smx::set_num_threads (or SMX_NUM_THREADS, or all cores).
int NumThreads();

// How many threads a job of `work` element-operations should use: below kMinWorkPerThread per
// thread, threads cost more than they save (an OpenMP fork/join is ~1-3 us here).
inline constexpr std::int64_t kMinWorkPerThread = 1 << 15;
int ThreadsFor(std::int64_t work, std::int64_t num_tasks);

// Calls body(begin, end) over a static partition of [0, num_tasks) on `threads` threads (the
// calling thread included). threads <= 1 runs inline.
void ParallelFor(std::int64_t num_tasks, int threads,
                 FunctionRef<void(std::int64_t, std::int64_t)> body);

}  // namespace smx::internal

#endif  // SMX_CORE_PARALLEL_H_
