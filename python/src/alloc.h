// Large NumPy outputs from transparent huge pages, with a small cache of freed buffers.
//
// The first touch of a fresh 4 KiB page costs 10-14 us on the machines smx is measured on, so a
// 64 MB output allocated with numpy.empty spends more time in page faults than the softmax takes.
// EmptyNumPy maps 2 MiB-aligned memory advised with MADV_HUGEPAGE (one fault per 2 MiB) and, when
// the array dies, keeps the buffer for the next call of a similar size (up to a byte budget), so
// a loop of allocating calls touches no fresh page after its first iteration.
#ifndef SMX_PYTHON_ALLOC_H_
#define SMX_PYTHON_ALLOC_H_

#include <nanobind/nanobind.h>

#include <cstddef>
#include <string>
#include <vector>

namespace smx_py {

namespace nb = nanobind;

// An uninitialised C-contiguous numpy.ndarray of `shape` and `dtype` ("float32", "float64",
// "float16" or "uint16"), owned by a capsule that returns its memory to the cache.
nb::object EmptyNumPy(const std::vector<std::size_t>& shape, const std::string& dtype);

// huge_pages: advise MADV_HUGEPAGE; cache_bytes: how many bytes of freed buffers to keep (0: none,
// freed buffers are unmapped at once; lowering it releases the excess now).
void ConfigureAllocator(bool huge_pages, std::size_t cache_bytes);
// {huge_pages, cache_bytes, bytes cached now}.
nb::dict AllocatorInfo();

}  // namespace smx_py

#endif  // SMX_PYTHON_ALLOC_H_
