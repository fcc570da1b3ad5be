#include "alloc.h"

#include <nanobind/ndarray.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <new>

namespace smx_py {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

struct Block {
  void* data = nullptr;
  std::size_t capacity = 0;  // a multiple of kHugePage
};

class Allocator {
 public:
  Block Allocate(std::size_t bytes) {
    const std::size_t capacity =
        (std::max<std::size_t>(bytes, 1) + kHugePage - 1) / kHugePage * kHugePage;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // The smallest cached block that fits and wastes at most half of itself.
      auto best = cache_.end();
      for (auto it = cache_.begin(); it != cache_.end(); ++it) {
        if (it->capacity >= capacity && it->capacity / 2 <= capacity &&
            (best == cache_.end() || it->capacity < best->capacity)) {
          best = it;
        }
      }
      if (best != cache_.end()) {
        const Block block = *best;
        cached_bytes_ -= block.capacity;
        cache_.erase(best);
        return block;
      }
    }
    return Map(capacity);
  }

  void Release(const Block& block) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_bytes_ + block.capacity <= cache_limit_) {
        cache_.push_back(block);
        cached_bytes_ += block.capacity;
        return;
      }
    }
    munmap(block.data, block.capacity);
  }

  void Configure(bool huge_pages, std::size_t cache_bytes) {
    std::vector<Block> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      huge_pages_ = huge_pages;
      cache_limit_ = cache_bytes;
      while (cached_bytes_ > cache_limit_ || (!cache_.empty() && cache_limit_ == 0)) {
        evicted.push_back(cache_.back());
        cached_bytes_ -= cache_.back().capacity;
        cache_.pop_back();
      }
    }
    for (const Block& b : evicted) munmap(b.data, b.capacity);
  }

  nb::dict Info() {
    std::lock_guard<std::mutex> lock(mutex_);
    nb::dict d;
    d["huge_pages"] = huge_pages_;
    d["cache_bytes"] = cache_limit_;
    d["cached_bytes"] = cached_bytes_;
    return d;
  }

 private:
  // capacity + one huge page, trimmed to a 2 MiB-aligned span of `capacity` bytes.
  Block Map(std::size_t capacity) {
    bool huge;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      huge = huge_pages_;
    }
    const std::size_t span = capacity + (huge ? kHugePage : 0);
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    auto* p = static_cast<unsigned char*>(raw);
    if (huge) {
      const auto addr = reinterpret_cast<std::uintptr_t>(p);
      const std::size_t head = (kHugePage - addr % kHugePage) % kHugePage;
      if (head) munmap(p, head);
      const std::size_t tail = span - head - capacity;
      if (tail) munmap(p + head + capacity, tail);
      p += head;
#ifdef MADV_HUGEPAGE
      madvise(p, capacity, MADV_HUGEPAGE);  // advice only: without THP this changes nothing
#endif
    }
    return Block{p, capacity};
  }

  std::mutex mutex_;
  bool huge_pages_ = true;
  // Retained memory is visible to the user's process: 64 MiB holds one [512, 32000] f32 output.
  std::size_t cache_limit_ = std::size_t{64} << 20;
  std::size_t cached_bytes_ = 0;
  std::vector<Block> cache_;
};

Allocator& TheAllocator() {
  static auto* allocator = new Allocator;  // never destroyed: capsules may outlive exit handlers
  return *allocator;
}

nb::dlpack::dtype DLPackDType(const std::string& name) {
  using Code = nb::dlpack::dtype_code;
  if (name == "float32") return {static_cast<std::uint8_t>(Code::Float), 32, 1};
  if (name == "float64") return {static_cast<std::uint8_t>(Code::Float), 64, 1};
  if (name == "float16") return {static_cast<std::uint8_t>(Code::Float), 16, 1};
  if (name == "uint16") return {static_cast<std::uint8_t>(Code::UInt), 16, 1};
  throw nb::type_error(("internal: no allocation dtype '" + name + "'").c_str());
}

}  // namespace

nb::object EmptyNumPy(const std::vector<std::size_t>& shape, const std::string& dtype) {
  const nb::dlpack::dtype dt = DLPackDType(dtype);
  std::size_t bytes = dt.bits / 8;
  for (std::size_t s : shape) bytes *= s;
  Block block;
  {
    nb::gil_scoped_release release;
    block = TheAllocator().Allocate(bytes);
  }
  auto* owned = new Block(block);
  nb::capsule owner(owned, [](void* p) noexcept {
    auto* b = static_cast<Block*>(p);
    TheAllocator().Release(*b);
    delete b;
  });
  return nb::ndarray<nb::numpy>(block.data, shape.size(), shape.data(), owner, nullptr, dt).cast();
}

void ConfigureAllocator(bool huge_pages, std::size_t cache_bytes) {
  TheAllocator().Configure(huge_pages, cache_bytes);
}

nb::dict AllocatorInfo() { return TheAllocator().Info(); }

}  // namespace smx_py
