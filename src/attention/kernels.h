// The per-target kernels of attention, on tiles the driver (attention.cc) has packed into
// contiguous buffers of the compute type T (float or double). Widths that are vectors' worth
// (`n` below) are multiples of Lanes: the driver pads its tiles to AttentionKernels::lanes.
#ifndef SMX_ATTENTION_KERNELS_H_
#define SMX_ATTENTION_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace smx::internal {

// How one row of a score tile is shaped before its softmax (see smx/attention.h for the order).
template <typename T>
struct ScoreRowShape {
  std::size_t valid = 0;       // keys j < valid are real; the rest of the row is padding
  std::int64_t first_key = 0;  // the key index of column 0
  std::int64_t last_key = 0;   // columns whose key index exceeds it are left out (causal)
  T softcap = 0;               // > 0: s = softcap tanh(s / softcap)
  T alibi_slope = 0;           // != 0: s -= slope |alibi_position - key|
  std::int64_t alibi_position = 0;
  const T* mask = nullptr;  // additive, column j at mask[j]; -inf leaves the key out
};

template <typename T>
struct AttentionKernels {
  std::size_t lanes;  // the padding unit of `n`
  // c[i, :n] = sum_k a[i, k] b[k, :n] (accumulate: c += ...), for i < m and k < depth; rows of
  // a, b and c at strides lda, ldb and ldc. n is a multiple of lanes.
  void (*gemm)(const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c, std::size_t ldc,
               std::size_t m, std::size_t n, std::size_t depth, bool accumulate);
  // The same with a stored transposed: its element (i, k) at a[k lda + i].
  void (*gemm_tn)(const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c, std::size_t ldc,
                  std::size_t m, std::size_t n, std::size_t depth, bool accumulate);
  // The decoding path (a few query rows, keys and values read in place): c[i, j] = sum_k a[i, k]
  // b[j, k] for i < m, j < n, k < depth, b's rows at stride ldb (any n and depth).
  void (*gemm_nt)(const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c, std::size_t ldc,
                  std::size_t m, std::size_t n, std::size_t depth);
  // o[i, :n] += sum_k p[i, k] v[k, :n] over the k < depth with p[i, k] != 0, v's rows at stride
  // ldv (n a multiple of lanes): a key a row leaves out is skipped, so its value never reaches
  // the row (0 times a NaN or inf would).
  void (*accumulate_attended)(const T* p, std::size_t ldp, const T* v, std::size_t ldv, T* o,
                              std::size_t ldo, std::size_t m, std::size_t n, std::size_t depth);
  // Shapes a row of n scores (n a multiple of lanes) in place: the transforms, then -inf where a
  // key is left out or is padding (by selection: a NaN score there becomes -inf).
  void (*shape_scores)(T* s, std::size_t n, const ScoreRowShape<T>& shape);
  // The online softmax step of one row: with m_new = max(m, max_j s_j), s_j becomes
  // e^(s_j - m_new) (0 for -inf), l becomes l e^(m - m_new) + sum_j s_j, o[:dv] is multiplied
  // by e^(m - m_new), and m becomes m_new. A row whose m_new is -inf (nothing attended yet) is
  // left as it is, with s set to 0. n and dv are multiples of lanes.
  void (*online_softmax_row)(T* s, std::size_t n, T& m, T& l, T* o, std::size_t dv);
  // The backward pass's probabilities of a row of n raw scores u = scale q.k (n a multiple of
  // lanes), in place: p = e^(s - lse) with s shaped as shape_scores does, 0 where the key is left
  // out or lse = -inf (a row that attended nothing). With softcap, dtanh[j] = 1 -
  // tanh^2(u/softcap), the cap's derivative (dtanh is not written otherwise).
  void (*probabilities_row)(T* s, std::size_t n, const ScoreRowShape<T>& shape, T lse, T* dtanh);
  // dp[j] = p[j] (dp[j] - delta) dtanh[j] (dtanh null: 1), 0 where p[j] = 0 (a key left out:
  // its dp may be NaN from a value the row never read). n a multiple of lanes.
  void (*score_gradient_row)(const T* p, T* dp, std::size_t n, T delta, const T* dtanh);
  // o[:n] *= factor (n a multiple of lanes).
  void (*scale_row)(T* o, std::size_t n, T factor);
};

struct AttentionKernelTable {
  AttentionKernels<float> f32;
  AttentionKernels<double> f64;
};

// The table for the best target of this CPU (honours hwy::SetSupportedTargetsForTest).
const AttentionKernelTable& GetAttentionKernels();

}  // namespace smx::internal

#endif  // SMX_ATTENTION_KERNELS_H_
