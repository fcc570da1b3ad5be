// Threads: set_num_threads / get_num_threads, and results bitwise identical for 1, 2 and 3
// threads on inputs large enough to be split (many rows, one very long row, the outer x K x inner
// layout), every target. The long row is also checked against the reference with 2 threads, so
// the merge of per-thread partial sums is right, not just repeatable.
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

// Restores the thread setting when a test ends.
class ThreadSettingGuard {
 public:
  ThreadSettingGuard() : saved_(smx::get_num_threads()) {}
  ~ThreadSettingGuard() { smx::set_num_threads(saved_); }

 private:
  int saved_;
};

TEST(Threads, GetReflectsSet) {
  ThreadSettingGuard guard;
  smx::set_num_threads(1);
  EXPECT_EQ(smx::get_num_threads(), 1);
  smx::set_num_threads(2);
  EXPECT_EQ(smx::get_num_threads(), 2);
  smx::set_num_threads(7);
  EXPECT_EQ(smx::get_num_threads(), 7);
  smx::set_num_threads(0);  // the default: SMX_NUM_THREADS or every core
  EXPECT_GE(smx::get_num_threads(), 1);
  smx::set_num_threads(-3);
  EXPECT_GE(smx::get_num_threads(), 1);
}

class Threads : public TargetTest {
 protected:
  // Runs op on the view with 1, 2 and 3 threads and compares the outputs bitwise.
  template <typename T>
  void Compare(Op op, const std::vector<std::int64_t>& shape, int axis, double t,
               std::vector<T>* two_threads = nullptr) {
    ThreadSettingGuard guard;
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<std::int64_t> out_shape = shape;
    const int a = axis < 0 ? axis + static_cast<int>(shape.size()) : axis;
    if (op == Op::kLogSumExp) out_shape.erase(out_shape.begin() + a);
    std::int64_t n_out = 1;
    for (auto d : out_shape) n_out *= d;
    std::mt19937_64 rng(static_cast<std::uint64_t>(n));
    const std::vector<T> z = RandomNormal<T>(rng, static_cast<std::size_t>(n), 0.0, 3.0);
    std::vector<T> outs[3];
    for (int threads = 1; threads <= 3; ++threads) {
      smx::set_num_threads(threads);
      std::vector<T>& y = outs[threads - 1];
      y.assign(static_cast<std::size_t>(n_out), T(0));
      const smx::Status s = RunOp<T>(op, smx::TensorView<const T>(z.data(), shape),
                                     smx::TensorView<T>(y.data(), out_shape), t, axis);
      ASSERT_TRUE(s.ok()) << s.message();
    }
    std::string label = std::string(OpName(op)) + " " + Elem<T>::kName + " " + tag() + " shape [";
    for (auto d : shape) label += std::to_string(d) + ",";
    label += "] axis " + std::to_string(axis);
    EXPECT_TRUE(
        BitwiseEqual(label + ": 1 vs 2 threads", outs[0].data(), outs[1].data(), outs[0].size()));
    EXPECT_TRUE(
        BitwiseEqual(label + ": 1 vs 3 threads", outs[0].data(), outs[2].data(), outs[0].size()));
    if (two_threads) *two_threads = outs[1];
  }

  template <typename T>
  void ManyRows() {
    for (Op op : kAllOps) {
      Compare<T>(op, {64, 1000}, -1, 1.0);
      Compare<T>(op, {256, 1000}, -1, 0.5);
      Compare<T>(op, {64, 1000, 64}, 1, 1.0);
    }
  }

  template <typename T>
  void OneLongRow() {
    const std::int64_t k = std::int64_t{1} << 22;
    for (Op op : kAllOps) {
      std::vector<T> y;
      Compare<T>(op, {k}, -1, 1.0, &y);
      // And right: recompute the input (same seed as Compare) for the reference.
      std::mt19937_64 rng(static_cast<std::uint64_t>(k));
      const std::vector<T> z = RandomNormal<T>(rng, static_cast<std::size_t>(k), 0.0, 3.0);
      std::vector<ld> err;
      const std::vector<ld> ref =
          ReferenceRows(op, Widen(z), 1, static_cast<std::size_t>(k), 1.0, &err);
      EXPECT_TRUE(
          MatchesReference(std::string(OpName(op)) + " of 2^22 elements, 2 threads " + tag(), y,
                           ref, Elem<T>::kUlp, &err));
    }
  }
};

TEST_P(Threads, ManyRowsF32) { ManyRows<float>(); }
TEST_P(Threads, ManyRowsF64) { ManyRows<double>(); }
TEST_P(Threads, OneLongRowF32) { OneLongRow<float>(); }
TEST_P(Threads, OneLongRowF64) { OneLongRow<double>(); }
SMX_INSTANTIATE_TARGETS(Threads);

}  // namespace
}  // namespace smx_test
