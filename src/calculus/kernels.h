// The per-target kernels of the softmax calculus on contiguous rows of f32 or f64. The driver
// (calculus.cc) asks for the table once per call and stages other layouts and types.
#ifndef SMX_CALCULUS_KERNELS_H_
#define SMX_CALCULUS_KERNELS_H_

#include <cstddef>

namespace smx::internal {

// A sum as hi + lo (lo: f64 data's compensation; 0 for f32 data, whose terms are exact in f64).
struct WideSum {
  double hi = 0;
  double lo = 0;
};

template <typename T>
struct CalculusKernels {
  // sum_i a_i b_i (b null: sum_i a_i), f32 data in f64 lanes, f64 data compensated (TwoProduct
  // and TwoSum).
  WideSum (*dot)(const T* a, const T* b, std::size_t n);
  // dz_i = y_i (g_i - s) scale: softmax's backward (and its JVP), s = <g, y>.
  void (*softmax_backward)(const T* y, const T* g, T* dz, std::size_t n, WideSum s, double scale);
  // dz_i = (g_i - exp(out_i) S) scale: log_softmax's backward, S = sum_i g_i.
  void (*log_softmax_backward)(const T* out, const T* g, T* dz, std::size_t n, WideSum sum_g,
                               double scale);
};

struct CalculusKernelTable {
  CalculusKernels<float> f32;
  CalculusKernels<double> f64;
};

// The table for the best target of this CPU (honours hwy::SetSupportedTargetsForTest).
const CalculusKernelTable& GetCalculusKernels();

}  // namespace smx::internal

#endif  // SMX_CALCULUS_KERNELS_H_
