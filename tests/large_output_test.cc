// Data larger than the caches (x and y together over 32 MiB) in rows longer than one chunk, where
// log_softmax's output pass writes y with streaming stores: every element against the reference,
// for an output that starts misaligned (one element past a 64-byte boundary) and with guard
// elements on both sides.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <vector>

#include "reference.h"
#include "smx/smx.hpp"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

class LargeOutput : public TargetTest {
 protected:
  template <typename T>
  void Run(std::size_t rows, std::size_t k) {
    std::mt19937_64 rng(29);
    const std::vector<T> z = RandomNormal<T>(rng, rows * k, 0.0, 3.0);
    const std::vector<ld> zl = Widen(z);
    constexpr T kGuard = T(-12345);
    for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
      for (double t : {1.0, 0.5}) {
        // y starts one element past an aligned address; one guard element on each side.
        std::vector<T> storage(rows * k + 2 + 64 / sizeof(T), kGuard);
        T* y = storage.data() + 1;
        ASSERT_TRUE(RunRows(op, z.data(), y, rows, k, t).ok());
        EXPECT_EQ(storage[0], kGuard) << "wrote before the output";
        EXPECT_EQ(y[rows * k], kGuard) << "wrote past the output";
        const std::vector<ld> ref = ReferenceRows(op, zl, rows, k, t);
        EXPECT_TRUE(MatchesReference(Label(op, Elem<T>::kName, k, rows, t, tag()), y, ref.data(),
                                     rows * k));
      }
    }
  }
};

TEST_P(LargeOutput, F32) { Run<float>(210, 20000); }  // 16.8 MB each of x and y
TEST_P(LargeOutput, F64) { Run<double>(105, 20000); }

SMX_INSTANTIATE_TARGETS(LargeOutput);

}  // namespace
}  // namespace smx_test
