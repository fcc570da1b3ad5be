// Attention's tile kernels on Highway vectors, compiled once per SIMD target: the tile products
// (a register-blocked GEMM on packed buffers), the score shaping, and the online softmax step.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attention/attention_kernels.cc"
// clang-format off: foreach_target.h must come first (it re-includes this file per target).
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <cmath>
#include <cstdint>
#include <limits>

#include "attention/kernels.h"
#include "hwy/contrib/math/math-inl.h"
#include "softmax/exp-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Four rows of c against two vectors of columns at a time: eight accumulators, each k step
// two loads of b, four broadcasts of a and eight FMAs, which the FMA pipes bound (two per
// cycle need eight independent chains of four-cycle latency). Rows left over take one at a time,
// columns left over one vector at a time.
// kTransposedA: a's element (i, k) is a[k lda + i] (a stored as [depth, m]), else a[i lda + k].
template <bool kTransposedA, typename T>
HWY_INLINE void GemmFourRows(const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c,
                             std::size_t ldc, std::size_t n, std::size_t depth, bool accumulate) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t row_step = kTransposedA ? 1 : lda, k_step = kTransposedA ? lda : 1;
  const T* a0 = a;
  const T* a1 = a + row_step;
  const T* a2 = a + 2 * row_step;
  const T* a3 = a + 3 * row_step;
  std::size_t col = 0;
  // Targets of 64-byte vectors have 32 registers (AVX-512): four vectors of columns, sixteen
  // accumulators, halve the loads per FMA (L = 2048, d = 128, 1 thread: forward 138 -> 187
  // GFLOP/s).
  if constexpr (hn::MaxLanes(decltype(d)()) * sizeof(T) >= 64) {
    for (; col + 4 * N <= n; col += 4 * N) {
      auto c00 = hn::Zero(d), c01 = hn::Zero(d), c02 = hn::Zero(d), c03 = hn::Zero(d);
      auto c10 = hn::Zero(d), c11 = hn::Zero(d), c12 = hn::Zero(d), c13 = hn::Zero(d);
      auto c20 = hn::Zero(d), c21 = hn::Zero(d), c22 = hn::Zero(d), c23 = hn::Zero(d);
      auto c30 = hn::Zero(d), c31 = hn::Zero(d), c32 = hn::Zero(d), c33 = hn::Zero(d);
      const T* bk = b + col;
      for (std::size_t k = 0; k < depth; ++k, bk += ldb) {
        const auto b0 = hn::LoadU(d, bk), b1 = hn::LoadU(d, bk + N);
        const auto b2 = hn::LoadU(d, bk + 2 * N), b3 = hn::LoadU(d, bk + 3 * N);
        const auto x0 = hn::Set(d, a0[k * k_step]), x1 = hn::Set(d, a1[k * k_step]);
        const auto x2 = hn::Set(d, a2[k * k_step]), x3 = hn::Set(d, a3[k * k_step]);
        c00 = hn::MulAdd(x0, b0, c00);
        c01 = hn::MulAdd(x0, b1, c01);
        c02 = hn::MulAdd(x0, b2, c02);
        c03 = hn::MulAdd(x0, b3, c03);
        c10 = hn::MulAdd(x1, b0, c10);
        c11 = hn::MulAdd(x1, b1, c11);
        c12 = hn::MulAdd(x1, b2, c12);
        c13 = hn::MulAdd(x1, b3, c13);
        c20 = hn::MulAdd(x2, b0, c20);
        c21 = hn::MulAdd(x2, b1, c21);
        c22 = hn::MulAdd(x2, b2, c22);
        c23 = hn::MulAdd(x2, b3, c23);
        c30 = hn::MulAdd(x3, b0, c30);
        c31 = hn::MulAdd(x3, b1, c31);
        c32 = hn::MulAdd(x3, b2, c32);
        c33 = hn::MulAdd(x3, b3, c33);
      }
      auto put = [&](T* row, auto v0, auto v1, auto v2, auto v3) HWY_ATTR {
        if (accumulate) {
          v0 = hn::Add(v0, hn::LoadU(d, row));
          v1 = hn::Add(v1, hn::LoadU(d, row + N));
          v2 = hn::Add(v2, hn::LoadU(d, row + 2 * N));
          v3 = hn::Add(v3, hn::LoadU(d, row + 3 * N));
        }
        hn::StoreU(v0, d, row);
        hn::StoreU(v1, d, row + N);
        hn::StoreU(v2, d, row + 2 * N);
        hn::StoreU(v3, d, row + 3 * N);
      };
      put(c + col, c00, c01, c02, c03);
      put(c + ldc + col, c10, c11, c12, c13);
      put(c + 2 * ldc + col, c20, c21, c22, c23);
      put(c + 3 * ldc + col, c30, c31, c32, c33);
    }
  }
  for (; col + 2 * N <= n; col += 2 * N) {
    auto c00 = hn::Zero(d), c01 = hn::Zero(d), c10 = hn::Zero(d), c11 = hn::Zero(d);
    auto c20 = hn::Zero(d), c21 = hn::Zero(d), c30 = hn::Zero(d), c31 = hn::Zero(d);
    const T* bk = b + col;
    for (std::size_t k = 0; k < depth; ++k, bk += ldb) {
      const auto b0 = hn::LoadU(d, bk), b1 = hn::LoadU(d, bk + N);
      const auto x0 = hn::Set(d, a0[k * k_step]), x1 = hn::Set(d, a1[k * k_step]);
      const auto x2 = hn::Set(d, a2[k * k_step]), x3 = hn::Set(d, a3[k * k_step]);
      c00 = hn::MulAdd(x0, b0, c00);
      c01 = hn::MulAdd(x0, b1, c01);
      c10 = hn::MulAdd(x1, b0, c10);
      c11 = hn::MulAdd(x1, b1, c11);
      c20 = hn::MulAdd(x2, b0, c20);
      c21 = hn::MulAdd(x2, b1, c21);
      c30 = hn::MulAdd(x3, b0, c30);
      c31 = hn::MulAdd(x3, b1, c31);
    }
    auto put = [&](T* row, decltype(c00) v0, decltype(c00) v1) HWY_ATTR {
      if (accumulate) {
        v0 = hn::Add(v0, hn::LoadU(d, row));
        v1 = hn::Add(v1, hn::LoadU(d, row + N));
      }
      hn::StoreU(v0, d, row);
      hn::StoreU(v1, d, row + N);
    };
    put(c + col, c00, c01);
    put(c + ldc + col, c10, c11);
    put(c + 2 * ldc + col, c20, c21);
    put(c + 3 * ldc + col, c30, c31);
  }
  for (; col < n; col += N) {
    auto c0 = hn::Zero(d), c1 = hn::Zero(d), c2 = hn::Zero(d), c3 = hn::Zero(d);
    const T* bk = b + col;
    for (std::size_t k = 0; k < depth; ++k, bk += ldb) {
      const auto b0 = hn::LoadU(d, bk);
      c0 = hn::MulAdd(hn::Set(d, a0[k * k_step]), b0, c0);
      c1 = hn::MulAdd(hn::Set(d, a1[k * k_step]), b0, c1);
      c2 = hn::MulAdd(hn::Set(d, a2[k * k_step]), b0, c2);
      c3 = hn::MulAdd(hn::Set(d, a3[k * k_step]), b0, c3);
    }
    T* rows[4] = {c + col, c + ldc + col, c + 2 * ldc + col, c + 3 * ldc + col};
    const decltype(c0) sums[4] = {c0, c1, c2, c3};
    for (int r = 0; r < 4; ++r) {
      hn::StoreU(accumulate ? hn::Add(sums[r], hn::LoadU(d, rows[r])) : sums[r], d, rows[r]);
    }
  }
}

template <typename T>
HWY_INLINE void GemmOneRow(const T* a, std::size_t k_step, const T* b, std::size_t ldb, T* c,
                           std::size_t n, std::size_t depth, bool accumulate) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  for (std::size_t col = 0; col < n; col += N) {
    auto c0 = hn::Zero(d), c1 = hn::Zero(d);  // two chains: even and odd k
    const T* bk = b + col;
    std::size_t k = 0;
    for (; k + 2 <= depth; k += 2, bk += 2 * ldb) {
      c0 = hn::MulAdd(hn::Set(d, a[k * k_step]), hn::LoadU(d, bk), c0);
      c1 = hn::MulAdd(hn::Set(d, a[(k + 1) * k_step]), hn::LoadU(d, bk + ldb), c1);
    }
    if (k < depth) c0 = hn::MulAdd(hn::Set(d, a[k * k_step]), hn::LoadU(d, bk), c0);
    auto sum = hn::Add(c0, c1);
    if (accumulate) sum = hn::Add(sum, hn::LoadU(d, c + col));
    hn::StoreU(sum, d, c + col);
  }
}

template <bool kTransposedA, typename T>
void Gemm(const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c, std::size_t ldc,
          std::size_t m, std::size_t n, std::size_t depth, bool accumulate) {
  const std::size_t row_step = kTransposedA ? 1 : lda, k_step = kTransposedA ? lda : 1;
  std::size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    GemmFourRows<kTransposedA>(a + i * row_step, lda, b, ldb, c + i * ldc, ldc, n, depth,
                               accumulate);
  }
  for (; i < m; ++i)
    GemmOneRow(a + i * row_step, k_step, b, ldb, c + i * ldc, n, depth, accumulate);
}

// Decoding reads keys and values once, at memory speed: each kernel prefetches the rows this many
// keys ahead (H = 32, Lk = 32768, d = 128, 2 threads: 28.3 -> 26.7 ms, 40 GB/s of a 44 GB/s read
// stream; 8 and 32 keys measured alike, 64 worse). A prefetch never faults; the addresses past
// the caller's arrays are formed as integers.
constexpr std::size_t kPrefetchKeys = 16;

template <typename T>
HWY_INLINE void PrefetchRow(const T* row, std::size_t ahead, std::size_t stride,
                            std::size_t bytes) {
  const auto first = reinterpret_cast<std::uintptr_t>(row) + ahead * stride * sizeof(T);
  for (std::size_t line = 0; line < bytes; line += 64) {
    __builtin_prefetch(reinterpret_cast<const char*>(first + line), 0, 3);
  }
}

// Four keys at a time: four dot products over depth in vectors, then one reduction each.
template <typename T>
void GemmNT(const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c, std::size_t ldc,
            std::size_t m, std::size_t n, std::size_t depth) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t whole = depth / N * N;
  for (std::size_t i = 0; i < m; ++i) {
    const T* ai = a + i * lda;
    T* ci = c + i * ldc;
    auto tail = [&](const T* bj) {
      T sum = 0;
      for (std::size_t k = whole; k < depth; ++k) sum += ai[k] * bj[k];
      return sum;
    };
    std::size_t j = 0;
    for (; j + 4 <= n; j += 4) {
      for (std::size_t r = 0; r < 4; ++r) {
        PrefetchRow(b + (j + r) * ldb, kPrefetchKeys, ldb, depth * sizeof(T));
      }
      const T* b0 = b + j * ldb;
      const T* b1 = b0 + ldb;
      const T* b2 = b1 + ldb;
      const T* b3 = b2 + ldb;
      auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
      for (std::size_t k = 0; k < whole; k += N) {
        const auto x = hn::LoadU(d, ai + k);
        s0 = hn::MulAdd(x, hn::LoadU(d, b0 + k), s0);
        s1 = hn::MulAdd(x, hn::LoadU(d, b1 + k), s1);
        s2 = hn::MulAdd(x, hn::LoadU(d, b2 + k), s2);
        s3 = hn::MulAdd(x, hn::LoadU(d, b3 + k), s3);
      }
      ci[j] = hn::GetLane(hn::SumOfLanes(d, s0)) + tail(b0);
      ci[j + 1] = hn::GetLane(hn::SumOfLanes(d, s1)) + tail(b1);
      ci[j + 2] = hn::GetLane(hn::SumOfLanes(d, s2)) + tail(b2);
      ci[j + 3] = hn::GetLane(hn::SumOfLanes(d, s3)) + tail(b3);
    }
    for (; j < n; ++j) {
      const T* bj = b + j * ldb;
      auto s0 = hn::Zero(d);
      for (std::size_t k = 0; k < whole; k += N) {
        s0 = hn::MulAdd(hn::LoadU(d, ai + k), hn::LoadU(d, bj + k), s0);
      }
      ci[j] = hn::GetLane(hn::SumOfLanes(d, s0)) + tail(bj);
    }
  }
}

template <typename T>
void AccumulateAttended(const T* p, std::size_t ldp, const T* v, std::size_t ldv, T* o,
                        std::size_t ldo, std::size_t m, std::size_t n, std::size_t depth) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  for (std::size_t i = 0; i < m; ++i) {
    const T* pi = p + i * ldp;
    T* oi = o + i * ldo;
    std::size_t col = 0;
    // Four vectors of the output row stay in registers over the keys.
    for (; col + 4 * N <= n; col += 4 * N) {
      auto o0 = hn::LoadU(d, oi + col), o1 = hn::LoadU(d, oi + col + N);
      auto o2 = hn::LoadU(d, oi + col + 2 * N), o3 = hn::LoadU(d, oi + col + 3 * N);
      for (std::size_t k = 0; k < depth; ++k) {
        PrefetchRow(v + k * ldv + col, kPrefetchKeys, ldv, 4 * N * sizeof(T));
        if (pi[k] == 0) continue;
        const auto w = hn::Set(d, pi[k]);
        const T* vk = v + k * ldv + col;
        o0 = hn::MulAdd(w, hn::LoadU(d, vk), o0);
        o1 = hn::MulAdd(w, hn::LoadU(d, vk + N), o1);
        o2 = hn::MulAdd(w, hn::LoadU(d, vk + 2 * N), o2);
        o3 = hn::MulAdd(w, hn::LoadU(d, vk + 3 * N), o3);
      }
      hn::StoreU(o0, d, oi + col);
      hn::StoreU(o1, d, oi + col + N);
      hn::StoreU(o2, d, oi + col + 2 * N);
      hn::StoreU(o3, d, oi + col + 3 * N);
    }
    for (; col < n; col += N) {
      auto o0 = hn::LoadU(d, oi + col);
      for (std::size_t k = 0; k < depth; ++k) {
        if (pi[k] != 0) o0 = hn::MulAdd(hn::Set(d, pi[k]), hn::LoadU(d, v + k * ldv + col), o0);
      }
      hn::StoreU(o0, d, oi + col);
    }
  }
}

// Shapes scores as smx/attention.h orders it (cap, ALiBi, mask, then -inf where a key is left out
// or is padding), a vector of columns at a time.
template <class D>
class ScoreShaper {
 public:
  using T = hn::TFromD<D>;
  using V = hn::Vec<D>;

  ScoreShaper(D d, const internal::ScoreRowShape<T>& shape) : d_(d), shape_(shape) {
    // Columns below `limit` are attended: real keys, and (causal) keys up to last_key. Column
    // indices are small, so comparing them in T is exact.
    std::int64_t limit = static_cast<std::int64_t>(shape.valid);
    if (shape.last_key < shape.first_key + limit) {
      limit = shape.last_key < shape.first_key ? 0 : shape.last_key - shape.first_key + 1;
    }
    limit_ = hn::Set(d, static_cast<T>(limit));
    capped_ = shape.softcap > 0;
    cap_ = hn::Set(d, shape.softcap);
    inv_cap_ = hn::Set(d, capped_ ? 1 / shape.softcap : T(0));
    slope_ = hn::Set(d, shape.alibi_slope);
    // |alibi_position - key| = |base - column| with base = alibi_position - first_key.
    base_ = hn::Set(d, static_cast<T>(shape.alibi_position - shape.first_key));
    neg_inf_ = hn::Set(d, -std::numeric_limits<T>::infinity());
  }

  // The shaped scores of columns [j, j + N) from their raw scores u; tanh(u / softcap) goes to
  // *t when capped.
  HWY_INLINE V Apply(V u, std::size_t j, V* t) const {
    const V column = hn::Add(hn::Iota(d_, T(0)), hn::Set(d_, static_cast<T>(j)));
    V v = u;
    if (capped_) {
      *t = hn::Tanh(d_, hn::Mul(u, inv_cap_));
      v = hn::Mul(cap_, *t);
    }
    if (shape_.alibi_slope != 0) v = hn::NegMulAdd(slope_, hn::Abs(hn::Sub(base_, column)), v);
    if (shape_.mask != nullptr) {
      const V add = hn::LoadU(d_, shape_.mask + j);
      v = hn::IfThenElse(hn::Eq(add, neg_inf_), neg_inf_, hn::Add(v, add));
    }
    return hn::IfThenElse(hn::Lt(column, limit_), v, neg_inf_);
  }

 private:
  D d_;
  const internal::ScoreRowShape<T>& shape_;
  bool capped_;
  V limit_, cap_, inv_cap_, slope_, base_, neg_inf_;
};

template <typename T>
void ShapeScores(T* s, std::size_t n, const internal::ScoreRowShape<T>& shape) {
  const hn::ScalableTag<T> d;
  const ScoreShaper shaper(d, shape);
  hn::Vec<decltype(d)> t;
  for (std::size_t j = 0; j < n; j += hn::Lanes(d)) {
    hn::StoreU(shaper.Apply(hn::LoadU(d, s + j), j, &t), d, s + j);
  }
}

template <typename T>
void ProbabilitiesRow(T* s, std::size_t n, const internal::ScoreRowShape<T>& shape, T lse,
                      T* dtanh) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  if (lse == -std::numeric_limits<T>::infinity()) {  // nothing attended: every p is 0
    for (std::size_t j = 0; j < n; j += N) hn::StoreU(hn::Zero(d), d, s + j);
    return;
  }
  const ScoreShaper shaper(d, shape);
  const auto vlse = hn::Set(d, lse), one = hn::Set(d, T(1));
  hn::Vec<decltype(d)> t;
  for (std::size_t j = 0; j < n; j += N) {
    const auto x = hn::Sub(shaper.Apply(hn::LoadU(d, s + j), j, &t), vlse);
    if (shape.softcap > 0) hn::StoreU(hn::NegMulAdd(t, t, one), d, dtanh + j);
    hn::StoreU(ExpOfShifted</*kHasLo=*/false>(d, x, x), d, s + j);
  }
}

template <typename T>
void ScoreGradientRow(const T* p, T* dp, std::size_t n, T delta, const T* dtanh) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const auto vdelta = hn::Set(d, delta), zero = hn::Zero(d);
  for (std::size_t j = 0; j < n; j += N) {
    const auto pj = hn::LoadU(d, p + j);
    auto g = hn::Mul(pj, hn::Sub(hn::LoadU(d, dp + j), vdelta));
    if (dtanh != nullptr) g = hn::Mul(g, hn::LoadU(d, dtanh + j));
    hn::StoreU(hn::IfThenElse(hn::Eq(pj, zero), zero, g), d, dp + j);
  }
}

template <typename T>
void ScaleRow(T* o, std::size_t n, T factor) {
  const hn::ScalableTag<T> d;
  const auto f = hn::Set(d, factor);
  for (std::size_t j = 0; j < n; j += hn::Lanes(d))
    hn::StoreU(hn::Mul(hn::LoadU(d, o + j), f), d, o + j);
}

template <typename T>
void OnlineSoftmaxRow(T* s, std::size_t n, T& m, T& l, T* o, std::size_t dv) {
  const hn::ScalableTag<T> d;
  using V = hn::Vec<decltype(d)>;
  const std::size_t N = hn::Lanes(d);
  constexpr T kInf = std::numeric_limits<T>::infinity();
  auto zero_scores = [&] {
    for (std::size_t j = 0; j < n; j += N) hn::StoreU(hn::Zero(d), d, s + j);
  };
  if (std::isnan(m)) {  // an earlier tile brought a NaN: the row stays NaN
    zero_scores();
    return;
  }
  V vmax = hn::Set(d, -kInf);
  auto nan = hn::FirstN(d, 0);  // no lane
  for (std::size_t j = 0; j < n; j += N) {
    const V v = hn::LoadU(d, s + j);
    vmax = hn::Max(vmax, v);
    nan = hn::Or(nan, hn::IsNaN(v));
  }
  if (!hn::AllFalse(d, nan)) {  // an attended score is NaN (hn::Max need not carry it)
    m = l = std::numeric_limits<T>::quiet_NaN();
    ScaleRow(o, dv, m);
    zero_scores();
    return;
  }
  const T tile_max = hn::GetLane(hn::MaxOfLanes(d, vmax));
  const T m_new = tile_max > m ? tile_max : m;
  if (m_new == -kInf) {  // nothing attended so far
    zero_scores();
    return;
  }
  const V vm = hn::Set(d, m_new);
  V sum = hn::Zero(d);
  for (std::size_t j = 0; j < n; j += N) {
    // s - m_new <= 0, or NaN where both are +inf (which then carries into l and o).
    const V x = hn::Sub(hn::LoadU(d, s + j), vm);
    const V p = ExpOfShifted</*kHasLo=*/false>(d, x, x);
    hn::StoreU(p, d, s + j);
    sum = hn::Add(sum, p);
  }
  const T alpha = m == -kInf ? T(0) : std::exp(m - m_new);
  if (alpha != 1) ScaleRow(o, dv, alpha);
  l = l * alpha + hn::GetLane(hn::SumOfLanes(d, sum));
  m = m_new;
}

template <typename T>
internal::AttentionKernels<T> MakeKernels() {
  return {hn::Lanes(hn::ScalableTag<T>()),
          &Gemm<false, T>,
          &Gemm<true, T>,
          &GemmNT<T>,
          &AccumulateAttended<T>,
          &ShapeScores<T>,
          &OnlineSoftmaxRow<T>,
          &ProbabilitiesRow<T>,
          &ScoreGradientRow<T>,
          &ScaleRow<T>};
}

const internal::AttentionKernelTable* GetAttentionKernelTable() {
  static const internal::AttentionKernelTable table = {MakeKernels<float>(), MakeKernels<double>()};
  return &table;
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx::internal {

HWY_EXPORT(GetAttentionKernelTable);

const AttentionKernelTable& GetAttentionKernels() {
  return *HWY_DYNAMIC_DISPATCH(GetAttentionKernelTable)();
}

}  // namespace smx::internal
#endif  // HWY_ONCE
