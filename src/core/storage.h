// Storage types and the compute type of each: f16 and bf16 are computed in f32, f32 and f64 in
// their own type. The staging paths convert with these.
#ifndef SMX_CORE_STORAGE_H_
#define SMX_CORE_STORAGE_H_

#include <type_traits>

#include "smx/tensor.h"

namespace smx::internal {

template <typename S>
using ComputeType = std::conditional_t<std::is_same_v<S, double>, double, float>;

template <typename S>
ComputeType<S> ToCompute(S v) {
  if constexpr (std::is_same_v<S, float16> || std::is_same_v<S, bfloat16>) {
    return to_float(v);
  } else {
    return v;
  }
}

template <typename S>
S FromCompute(ComputeType<S> v) {
  if constexpr (std::is_same_v<S, float16>) {
    return to_float16(v);
  } else if constexpr (std::is_same_v<S, bfloat16>) {
    return to_bfloat16(v);
  } else {
    return v;
  }
}

// Calls f(S{}) with S the storage type of `dtype` (float, double, float16, bfloat16).
template <typename F>
void VisitStorage(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kF32:
      return f(float{});
    case DType::kF64:
      return f(double{});
    case DType::kF16:
      return f(float16{});
    case DType::kBF16:
      return f(bfloat16{});
  }
}

}  // namespace smx::internal

#endif  // SMX_CORE_STORAGE_H_
