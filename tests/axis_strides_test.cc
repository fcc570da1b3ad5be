// Any axis and any strides: 3-d and 4-d tensors over every axis (positive and negative), a
// [64, 1000, 64] tensor over axis 1 (the outer x K x inner fast path), transposed, stepped, gapped,
// permuted and broadcast (stride 0) inputs, strided outputs, and logsumexp dropping the axis or
// keeping it with size 1. Results are compared with the long-double reference along the axis;
// output elements outside the view must stay untouched. Every target, f32 and f64.
#include <numeric>

#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

using Dims = std::vector<std::int64_t>;

Dims RowMajorStrides(const Dims& shape) {
  Dims s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::int64_t Count(const Dims& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

// Offsets (in elements) of every logical element of a strided view, in row-major order.
std::vector<std::int64_t> Offsets(const Dims& shape, const Dims& strides) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(Count(shape)));
  for (std::size_t lin = 0; lin < out.size(); ++lin) {
    std::int64_t rem = static_cast<std::int64_t>(lin), off = 0;
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      off += (rem % shape[d]) * strides[d];
      rem /= shape[d];
    }
    out[lin] = off;
  }
  return out;
}

std::string DimsString(const Dims& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i > 0) s += ",";
    s += std::to_string(d[i]);
  }
  return s + "]";
}

class AxisStrides : public TargetTest {
 protected:
  // Runs `op` on a view (shape, x_strides) of a random buffer into a view (out_shape, y_strides)
  // of a sentinel-filled buffer, and checks every output and every untouched element.
  template <typename T>
  void Check(Op op, const Dims& shape, const Dims& x_strides, const Dims& out_shape,
             const Dims& y_strides, int axis, double t, const std::string& what) {
    const std::string label = std::string(OpName(op)) + " " + Elem<T>::kName + " " + what +
                              " shape " + DimsString(shape) + " x strides " +
                              DimsString(x_strides) + " axis " + std::to_string(axis) +
                              " T=" + std::to_string(t) + " " + tag();
    const auto x_off = Offsets(shape, x_strides);
    const auto y_off = Offsets(out_shape, y_strides);
    const std::size_t x_size =
        x_off.empty() ? 0 : *std::max_element(x_off.begin(), x_off.end()) + 1;
    const std::size_t y_size =
        y_off.empty() ? 0 : *std::max_element(y_off.begin(), y_off.end()) + 1;
    std::mt19937_64 rng(x_size * 31 + static_cast<std::size_t>(axis + 10));
    const std::vector<T> xbuf = RandomNormal<T>(rng, x_size, 0.0, 3.0);
    const T sentinel = static_cast<T>(12345.0);
    std::vector<T> ybuf(y_size, sentinel);
    std::vector<ld> logical(x_off.size());
    for (std::size_t i = 0; i < x_off.size(); ++i) logical[i] = xbuf[x_off[i]];

    const smx::TensorView<const T> xv(xbuf.data(), shape, x_strides);
    const smx::TensorView<T> yv(ybuf.data(), out_shape, y_strides);
    const smx::Status s = RunOp<T>(op, xv, yv, t, axis);
    ASSERT_TRUE(s.ok()) << label << ": " << s.message();

    std::vector<T> got(y_off.size());
    std::vector<bool> in_view(y_size, false);
    for (std::size_t i = 0; i < y_off.size(); ++i) {
      got[i] = ybuf[y_off[i]];
      in_view[y_off[i]] = true;
    }
    std::size_t stray = 0;
    for (std::size_t i = 0; i < y_size; ++i)
      stray += !in_view[i] && BitsOf(ybuf[i]) != BitsOf(sentinel);
    EXPECT_EQ(stray, 0u) << label << ": wrote " << stray << " elements outside the output view";
    std::vector<ld> err;
    const std::vector<ld> ref = ReferenceAlongAxis(op, logical, shape, axis, t, &err);
    EXPECT_TRUE(MatchesReference(label, got, ref, Elem<T>::kUlp, &err));
  }

  // Contiguous input and output; logsumexp drops the axis (and, keepdim, keeps it as 1).
  template <typename T>
  void CheckContiguous(Op op, const Dims& shape, int axis, double t, bool keepdim = false) {
    Dims out = shape;
    const int a = axis < 0 ? axis + static_cast<int>(shape.size()) : axis;
    if (op == Op::kLogSumExp) {
      if (keepdim) {
        out[a] = 1;
      } else {
        out.erase(out.begin() + a);
      }
    }
    Check<T>(op, shape, RowMajorStrides(shape), out, RowMajorStrides(out), axis, t,
             keepdim ? "contiguous keepdim" : "contiguous");
  }

  template <typename T>
  void EveryAxis() {
    for (const Dims& shape : {Dims{4, 5, 6}, Dims{2, 3, 4, 5}, Dims{3, 1, 17}, Dims{1, 70, 2}}) {
      const int rank = static_cast<int>(shape.size());
      for (int axis = -rank; axis < rank; ++axis) {
        for (Op op : kAllOps) {
          for (double t : {1.0, 0.5}) {
            if (op == Op::kLogSumExp && t != 1.0) continue;
            CheckContiguous<T>(op, shape, axis, t);
          }
        }
        CheckContiguous<T>(Op::kLogSumExp, shape, axis, 1.0, /*keepdim=*/true);
      }
    }
  }

  template <typename T>
  void GeneralStrides() {
    const auto both = [&](Op op, const Dims& shape, const Dims& xs, const Dims& ys, int axis,
                          const std::string& what) {
      Dims out = shape, os = ys;
      if (op == Op::kLogSumExp) {  // a contiguous output without the axis
        const int a = axis < 0 ? axis + static_cast<int>(shape.size()) : axis;
        out.erase(out.begin() + a);
        os = RowMajorStrides(out);
      }
      for (double t : {1.0, 0.5}) {
        if (op == Op::kLogSumExp && t != 1.0) continue;
        Check<T>(op, shape, xs, out, os, axis, t, what);
      }
    };
    for (Op op : kAllOps) {
      // A transposed view of a [7, 33] buffer: rows of 7 with stride 33.
      both(op, {33, 7}, {1, 33}, {1, 33}, -1, "transposed");
      both(op, {33, 7}, {1, 33}, {7, 1}, 0, "transposed, axis 0");
      // Every other element (step 2), and gaps between rows, output with step 3.
      both(op, {5, 40}, {80, 2}, {120, 3}, 1, "step 2");
      both(op, {5, 40}, {80, 2}, {40, 1}, 0, "step 2, axis 0");
      both(op, {3, 129}, {200, 1}, {131, 1}, -1, "row gaps");
      // A permuted 3-d view of a [4, 6, 9] buffer as [9, 4, 6].
      for (int axis = 0; axis < 3; ++axis) {
        both(op, {9, 4, 6}, {1, 54, 9}, {24, 6, 1}, axis, "permuted");
      }
      // Broadcast input (stride 0 across rows) and a size-1 dimension with an odd stride.
      both(op, {4, 65}, {0, 1}, {65, 1}, -1, "broadcast rows");
      both(op, {1, 65}, {12345, 1}, {777, 1}, -1, "size-1 dim");
    }
    // A strided logsumexp output.
    Check<T>(Op::kLogSumExp, {6, 50}, {50, 1}, {6}, {3}, 1, 1.0, "strided lse out");
    Check<T>(Op::kLogSumExp, {6, 50}, {1, 6}, {6, 1}, {2, 1}, 1, 1.0, "transposed, keepdim out");
  }

  // [64, 1000, 64] over axis 1: outer x K x inner, vectorised across inner.
  template <typename T>
  void LargeMiddleAxis(std::initializer_list<Op> ops) {
    for (Op op : ops) CheckContiguous<T>(op, {64, 1000, 64}, 1, 1.0);
    CheckContiguous<T>(Op::kSoftmax, {64, 1000, 64}, -2, 0.5);
  }
};

TEST_P(AxisStrides, EveryAxisF32) { EveryAxis<float>(); }
TEST_P(AxisStrides, EveryAxisF64) { EveryAxis<double>(); }
TEST_P(AxisStrides, GeneralStridesF32) { GeneralStrides<float>(); }
TEST_P(AxisStrides, GeneralStridesF64) { GeneralStrides<double>(); }
TEST_P(AxisStrides, LargeMiddleAxisF32) {
  LargeMiddleAxis<float>({Op::kSoftmax, Op::kLogSoftmax, Op::kLogSumExp});
}
TEST_P(AxisStrides, LargeMiddleAxisF64) { LargeMiddleAxis<double>({Op::kSoftmax, Op::kLogSumExp}); }
SMX_INSTANTIATE_TARGETS(AxisStrides);

}  // namespace
}  // namespace smx_test
