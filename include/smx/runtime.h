// Threads and build information.
//
//   smx::set_num_threads(2);           // 0 or less: all cores (or SMX_NUM_THREADS if set)
//   std::printf("%s on %s\n", smx::version(), smx::simd_target());
#ifndef SMX_RUNTIME_H_
#define SMX_RUNTIME_H_

#include <string>
#include <vector>

namespace smx {

// The number of threads smx ops may use. The default is the SMX_NUM_THREADS environment variable
// when it holds a positive integer, else every core. Small inputs run on the calling thread
// whatever this says. Results do not depend on it (bitwise).
void set_num_threads(int num_threads);
int get_num_threads();

// "0.1.0".
const char* version();
// The SIMD target that dispatch chose on this CPU, such as "AVX3" (AVX-512), "AVX2", "SSE4",
// "EMU128" or "SCALAR".
const char* simd_target();
// Every target compiled into this build, best first.
std::vector<std::string> compiled_targets();

}  // namespace smx

#endif  // SMX_RUNTIME_H_
