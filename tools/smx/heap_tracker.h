// Counts the bytes this program holds through operator new (the library's std::vectors included:
// it is linked statically into `smx`), so that `smx bench` can report the extra memory an op
// really takes instead of what its documentation claims.
#ifndef SMX_TOOLS_HEAP_TRACKER_H_
#define SMX_TOOLS_HEAP_TRACKER_H_

#include <cstddef>
#include <functional>

namespace smx_cli {

// The largest number of bytes held through operator new at any moment while run() ran, above what
// was held when it started.
std::size_t PeakHeapBytesDuring(const std::function<void()>& run);

}  // namespace smx_cli

#endif  // SMX_TOOLS_HEAP_TRACKER_H_
