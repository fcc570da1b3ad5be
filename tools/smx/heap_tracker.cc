// The global operator new and delete of the `smx` program, counting live bytes and their peak
// (see heap_tracker.h). The size of a block comes from malloc_usable_size, so that the unsized
// deletes are counted as well as the sized ones.
#include "heap_tracker.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace smx_cli {
namespace {

std::atomic<std::size_t> g_live{0};
std::atomic<std::size_t> g_peak{0};

void* Allocate(std::size_t bytes) {
  void* p = std::malloc(bytes == 0 ? 1 : bytes);
  if (p == nullptr) throw std::bad_alloc();
  const std::size_t live = g_live.fetch_add(malloc_usable_size(p)) + malloc_usable_size(p);
  std::size_t peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
  return p;
}

void Release(void* p) noexcept {
  if (p == nullptr) return;
  g_live.fetch_sub(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

std::size_t PeakHeapBytesDuring(const std::function<void()>& run) {
  const std::size_t before = g_live.load();
  g_peak.store(before);
  run();
  return g_peak.load() - before;
}

}  // namespace smx_cli

void* operator new(std::size_t bytes) { return smx_cli::Allocate(bytes); }
void* operator new[](std::size_t bytes) { return smx_cli::Allocate(bytes); }
void operator delete(void* p) noexcept { smx_cli::Release(p); }
void operator delete[](void* p) noexcept { smx_cli::Release(p); }
void operator delete(void* p, std::size_t) noexcept { smx_cli::Release(p); }
void operator delete[](void* p, std::size_t) noexcept { smx_cli::Release(p); }
// The nothrow forms too: the library's defaults would call the ones above, but a sanitizer
// replaces them with its own allocator, whose blocks the deletes above must not free
// (std::stable_sort's temporary buffer is one).
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return smx_cli::Allocate(bytes);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t bytes, const std::nothrow_t& tag) noexcept {
  return operator new(bytes, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { smx_cli::Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { smx_cli::Release(p); }
