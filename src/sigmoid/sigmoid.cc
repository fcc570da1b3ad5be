// Public entry points of sigmoid, log_sigmoid and softplus: argument checks, then the kernels over
// every element: as one flat array when both views are C-contiguous, else row by row along the
// last axis (strided rows and f16/bf16 staged through a small buffer of f32 or f64).
#include "smx/sigmoid.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/layout.h"
#include "core/storage.h"
#include "core/parallel.h"
#include "sigmoid/kernels.h"

namespace smx {
namespace {

using internal::SigmoidOp;

// Elements per task of the flat path, and of the staging buffer.
constexpr std::int64_t kBlock = 16384;
constexpr std::int64_t kStage = 1024;

// The compute type of storage type S: f16 and bf16 compute in f32.
template <typename S>
using Compute = internal::ComputeType<S>;
using internal::FromCompute;
using internal::ToCompute;

template <typename C>
void Kernel(const internal::SigmoidKernels& k, SigmoidOp op, const C* x, C* y, std::size_t n) {
  if constexpr (std::is_same_v<C, float>) {
    k.f32(op, x, y, n);
  } else {
    k.f64(op, x, y, n);
  }
}

template <typename S>
void RunTyped(SigmoidOp op, const S* x, S* y, const internal::RowSet& rows) {
  constexpr bool kNative = std::is_same_v<S, float> || std::is_same_v<S, double>;
  const internal::SigmoidKernels& k = internal::GetSigmoidKernels();  // one dispatch per call
  const std::int64_t total = rows.num_rows * rows.length;
  if constexpr (kNative) {
    if (rows.contiguous) {
      const std::int64_t blocks = (total + kBlock - 1) / kBlock;
      internal::ParallelFor(blocks, internal::ThreadsFor(total, blocks),
                            [&](std::int64_t begin, std::int64_t end) {
                              for (std::int64_t b = begin; b < end; ++b) {
                                const std::int64_t n = std::min(kBlock, total - b * kBlock);
                                Kernel(k, op, x + b * kBlock, y + b * kBlock,
                                       static_cast<std::size_t>(n));
                              }
                            });
      return;
    }
  }
  const std::int64_t length = rows.length;
  internal::ParallelFor(
      rows.num_rows, internal::ThreadsFor(total, rows.num_rows),
      [&](std::int64_t begin, std::int64_t end) {
        Compute<S> buf[kStage];
        for (std::int64_t r = begin; r < end; ++r) {
          std::int64_t xo = 0, yo = 0;
          rows.Offsets(r, xo, yo);
          const S* xr = x + xo;
          S* yr = y + yo;
          if (kNative && rows.x_stride == 1 && rows.y_stride == 1) {
            if constexpr (kNative) Kernel(k, op, xr, yr, static_cast<std::size_t>(length));
            continue;
          }
          for (std::int64_t start = 0; start < length; start += kStage) {
            const std::int64_t n = std::min(kStage, length - start);
            for (std::int64_t i = 0; i < n; ++i) buf[i] = ToCompute(xr[(start + i) * rows.x_stride]);
            Kernel(k, op, buf, buf, static_cast<std::size_t>(n));
            for (std::int64_t i = 0; i < n; ++i) {
              yr[(start + i) * rows.y_stride] = FromCompute<S>(buf[i]);
            }
          }
        }
      });
}

Status Run(SigmoidOp op, const char* name, ConstTensorRef x, TensorRef y) {
  // A 0-d tensor is one element: viewed as [1] (its strides are never read).
  const std::int64_t one[1] = {1};
  if (x.layout.rank == 0 && y.layout.rank == 0) {
    x.layout = Layout::Contiguous(one);
    y.layout = Layout::Contiguous(one);
  } else if (x.layout.rank == 0 || y.layout.rank == 0) {
    return Status::InvalidArgument(std::string(name) + ": output shape " +
                                   internal::ShapeString(y.layout) + " differs from input shape " +
                                   internal::ShapeString(x.layout));
  }
  internal::RowSet rows;
  if (Status s = internal::PlanElementwise(name, x, y, -1, rows); !s.ok()) return s;
  if (rows.num_rows == 0 || rows.length == 0) return Status::Ok();
  switch (x.dtype) {
    case DType::kF32:
      RunTyped(op, static_cast<const float*>(x.data), static_cast<float*>(y.data), rows);
      break;
    case DType::kF64:
      RunTyped(op, static_cast<const double*>(x.data), static_cast<double*>(y.data), rows);
      break;
    case DType::kF16:
      RunTyped(op, static_cast<const float16*>(x.data), static_cast<float16*>(y.data), rows);
      break;
    case DType::kBF16:
      RunTyped(op, static_cast<const bfloat16*>(x.data), static_cast<bfloat16*>(y.data), rows);
      break;
  }
  return Status::Ok();
}

}  // namespace

Status sigmoid(const ConstTensorRef& x, const TensorRef& y) {
  return Run(SigmoidOp::kSigmoid, "sigmoid", x, y);
}

Status log_sigmoid(const ConstTensorRef& x, const TensorRef& y) {
  return Run(SigmoidOp::kLogSigmoid, "log_sigmoid", x, y);
}

Status softplus(const ConstTensorRef& x, const TensorRef& y) {
  return Run(SigmoidOp::kSoftplus, "softplus", x, y);
}

}  // namespace smx
