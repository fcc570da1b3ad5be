// Compiles the softmax kernels once per SIMD target and exports the kernel table for dispatch.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "softmax/softmax_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "softmax/columns_kernel-inl.h"
#include "softmax/row_kernels-inl.h"
#include "softmax/rows_kernel-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {

template <typename T>
internal::RowKernels<T> MakeRowKernels() {
  return {&RowMax<T>,
          &RowExpSum<T>,
          &RowExpSumNextMax<T>,
          &ChunkOwnMaxExpSum<T>,
          &RowScale<T>,
          &RowLogShift<false, T>,
          &RowLogShift<true, T>,
          &WholeRows<T>,
          &Columns<T>};
}

const internal::KernelTable* GetKernelTable() {
  static const internal::KernelTable table = {MakeRowKernels<float>(), MakeRowKernels<double>()};
  return &table;
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx::internal {

HWY_EXPORT(GetKernelTable);

const KernelTable& Kernels() { return *HWY_DYNAMIC_DISPATCH(GetKernelTable)(); }

}  // namespace smx::internal
#endif  // HWY_ONCE
