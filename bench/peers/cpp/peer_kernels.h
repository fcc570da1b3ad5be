// The implementations the C++ peer benchmark compares, each bound to its buffers as a callable:
// smx, oneDNN, XNNPACK, an Eigen row-wise softmax and a plain copy of the same bytes.
//
// Every Make* function does its setup (primitive creation, operator setup, thread pools) up front
// and returns a closure that runs one call; an empty closure means the peer lacks the op.
#ifndef SMX_BENCH_PEERS_CPP_PEER_KERNELS_H_
#define SMX_BENCH_PEERS_CPP_PEER_KERNELS_H_

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

namespace smx_peers {

enum class Op { kSoftmax, kLogSoftmax };
const char* OpName(Op op);  // "softmax" or "log_softmax"

// A 64-byte aligned float buffer with XNNPACK's read-past-the-end slack after it, zeroed at
// allocation so that no timed call pays for the first touch of a page.
class Buffer {
 public:
  explicit Buffer(std::size_t count);
  float* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float[], Free> data_;
  std::size_t size_;
};

using Runner = std::function<void()>;

// y = op(x) over the last axis of a contiguous [rows, cols] block; `threads` threads.
// smx takes the temperature itself; the peers have none (the caller divides).
Runner MakeSmx(Op op, const float* x, float* y, std::size_t rows, std::size_t cols, int threads,
               double temperature = 1.0);
Runner MakeOneDnn(Op op, const float* x, float* y, std::size_t rows, std::size_t cols, int threads);
Runner MakeXnnpack(Op op, const float* x, float* y, std::size_t rows, std::size_t cols,
                   int threads);  // softmax only: XNNPACK (2022) has no log-softmax operator
Runner MakeEigen(Op op, const float* x, float* y, std::size_t rows, std::size_t cols);
// memcpy of `count` floats, split into `threads` contiguous slices of whole cache lines.
Runner MakeCopy(const float* x, float* y, std::size_t count, int threads);

// Library facts for the report: versions, SIMD paths, the oneDNN implementation chosen for a
// [rows, cols] softmax.
std::string SmxDescription();
std::string OneDnnVersion();
std::string OneDnnImplementation(std::size_t rows, std::size_t cols);
std::string EigenDescription();

// Must precede MakeXnnpack; false when XNNPACK cannot initialise on this CPU.
bool InitXnnpack();

}  // namespace smx_peers

#endif  // SMX_BENCH_PEERS_CPP_PEER_KERNELS_H_
