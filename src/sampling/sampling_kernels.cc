// The passes of sampling on Highway vectors, compiled once per SIMD target. Every sum is taken
// in f64 lanes and reduced in a fixed order, so a row's result depends only on the row (and the
// target's vector width), never on threads or the rest of the batch.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sampling/sampling_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// clang-format on
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>

#include "core/widen-inl.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "sampling/kernels.h"
#include "sampling/philox.h"
#include "softmax/exp-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;

// acc += the lanes of v (of T = float or double) as f64: a float vector in two halves.
template <class D>
HWY_INLINE void AddWide(D d, hn::Vec<D> v, hn::Vec<DD>& acc) {
  (void)d;
  if constexpr (sizeof(hn::TFromD<D>) == 4) {
    const DD dd;
#if HWY_TARGET == HWY_SCALAR
    acc = hn::Add(acc, hn::PromoteTo(dd, v));  // one lane each
#else
    const hn::Half<D> dh;
    acc = hn::Add(acc, hn::PromoteTo(dd, hn::LowerHalf(dh, v)));
    acc = hn::Add(acc, hn::PromoteTo(dd, hn::UpperHalf(dh, v)));
#endif
  } else {
    acc = hn::Add(acc, v);
  }
}

HWY_INLINE double SumOf(hn::Vec<DD> v) {
  const DD dd;
  HWY_ALIGN double lanes[hn::MaxLanes(DD())];
  hn::Store(v, dd, lanes);
  double s = 0;
  for (std::size_t j = 0; j < hn::Lanes(dd); ++j) s += lanes[j];
  return s;
}

// Lanes whose token is ranked before `t` (value t.value at index t.index), for the vector of
// values v at index i: greater, or equal with a lower index (a prefix of the lanes).
template <class D>
HWY_INLINE hn::Mask<D> RankedBeforeLanes(D d, hn::Vec<D> v, std::size_t i,
                                         const internal::RankedToken<hn::TFromD<D>>& t) {
  const auto tv = hn::Set(d, t.value);
  const auto gt = hn::Gt(v, tv);
  const auto eq = hn::Eq(v, tv);
  if (hn::AllFalse(d, eq)) return gt;
  const std::int64_t below = std::clamp<std::int64_t>(t.index - static_cast<std::int64_t>(i), 0,
                                                      static_cast<std::int64_t>(hn::Lanes(d)));
  return hn::Or(gt, hn::And(eq, hn::FirstN(d, static_cast<std::size_t>(below))));
}

// A partial last vector of n - i < Lanes elements, the rest filled with `pad`.
template <class D>
HWY_INLINE hn::Vec<D> LoadTail(D d, const hn::TFromD<D>* p, std::size_t count, hn::TFromD<D> pad) {
  HWY_ALIGN hn::TFromD<D> buf[hn::MaxLanes(D())];
  for (std::size_t j = 0; j < hn::Lanes(d); ++j) buf[j] = j < count ? p[j] : pad;
  return hn::Load(d, buf);
}

template <typename T>
T Scan(const T* x, std::size_t n, bool* nan_or_inf) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const auto inf = hn::Set(d, std::numeric_limits<T>::infinity());
  auto m0 = hn::Set(d, -std::numeric_limits<T>::infinity()), m1 = m0;
  auto bad = hn::Zero(d);
  std::size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto a = hn::LoadU(d, x + i), b = hn::LoadU(d, x + i + N);
    m0 = hn::Max(m0, a);
    m1 = hn::Max(m1, b);
    // Not (v < inf): NaN or +inf.
    bad = hn::Or(bad, hn::VecFromMask(d, hn::Not(hn::And(hn::Lt(a, inf), hn::Lt(b, inf)))));
  }
  if (i + N <= n) {
    const auto a = hn::LoadU(d, x + i);
    m0 = hn::Max(m0, a);
    bad = hn::Or(bad, hn::VecFromMask(d, hn::Not(hn::Lt(a, inf))));
    i += N;
  }
  if (i < n) {
    const auto a = LoadTail(d, x + i, n - i, -std::numeric_limits<T>::infinity());
    m1 = hn::Max(m1, a);
    bad = hn::Or(bad, hn::VecFromMask(d, hn::Not(hn::Lt(a, inf))));
  }
  *nan_or_inf = !hn::AllFalse(d, hn::MaskFromVec(bad));
  return hn::GetLane(hn::MaxOfLanes(d, hn::Max(m0, m1)));
}

template <typename T>
std::size_t FindFirst(const T* x, std::size_t n, T value) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const auto v = hn::Set(d, value);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    const intptr_t lane = hn::FindFirstTrue(d, hn::Eq(hn::LoadU(d, x + i), v));
    if (lane >= 0) return i + static_cast<std::size_t>(lane);
  }
  for (; i < n; ++i) {
    if (x[i] == value) return i;
  }
  return n;
}

template <bool kScaled, class D>
HWY_INLINE hn::Vec<D> ExpOfLogit(D d, hn::Vec<D> x, hn::Vec<D> m,
                                 const internal::Temperature<hn::TFromD<D>>& temp) {
  hn::Vec<D> hi, lo;
  ShiftedLogit<kScaled, ShiftKind::kResidual>(x, m, hn::Set(d, temp.inv_t), hn::Set(d, temp.t),
                                              hn::Set(d, temp.t_lo), hi, lo);
  return ExpOfShifted(d, hi, lo);
}

template <typename T>
double Exponentials(const T* x, T* e, std::size_t n, T m, const internal::Temperature<T>& temp,
                    int mode, T min_e, double* kept) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const auto vm = hn::Set(d, m), vmin = hn::Set(d, min_e), one = hn::Set(d, T(1));
  const auto neg_inf = hn::Set(d, -std::numeric_limits<T>::infinity());
  auto exp_of = [&](hn::Vec<decltype(d)> v) HWY_ATTR {
    switch (mode) {
      case internal::kUniform: return hn::IfThenElseZero(hn::Gt(v, neg_inf), one);
      case internal::kTies: return hn::IfThenElseZero(hn::Eq(v, vm), one);
      default:
        return temp.scaled ? ExpOfLogit<true>(d, v, vm, temp) : ExpOfLogit<false>(d, v, vm, temp);
    }
  };
  const DD dd;
  auto total = hn::Zero(dd), counted = hn::Zero(dd);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto ev = exp_of(hn::LoadU(d, x + i));
    hn::StoreU(ev, d, e + i);
    AddWide(d, ev, total);
    AddWide(d, hn::IfThenElseZero(hn::Ge(ev, vmin), ev), counted);
  }
  if (i < n) {
    const auto ev = exp_of(LoadTail(d, x + i, n - i, -std::numeric_limits<T>::infinity()));
    HWY_ALIGN T buf[hn::MaxLanes(decltype(d)())];
    hn::Store(ev, d, buf);
    std::copy(buf, buf + (n - i), e + i);
    AddWide(d, ev, total);
    AddWide(d, hn::IfThenElseZero(hn::Ge(ev, vmin), ev), counted);
  }
  *kept = SumOf(counted);
  return SumOf(total);
}

// The sums, in f64, of e_i over the tokens ranked before `before`, over the others, and over
// those ranked before it that `filter` counts.
template <typename T>
void MassSplit(const T* x, const T* e, std::size_t n, internal::RankedToken<T> before,
               const internal::TokenFilter<T>& filter, double* before_sum, double* after_sum,
               double* counted) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const auto vmin = hn::Set(d, filter.min_e);
  const bool count_apart = filter.has_pivot || filter.min_e > 0;
  const DD dd;
  auto before_acc = hn::Zero(dd), after_acc = hn::Zero(dd), counted_acc = hn::Zero(dd);
  auto step = [&](std::size_t i, hn::Vec<decltype(d)> xv, hn::Vec<decltype(d)> ev) HWY_ATTR {
    const auto take = RankedBeforeLanes(d, xv, i, before);
    AddWide(d, hn::IfThenZeroElse(take, ev), after_acc);
    if (hn::AllFalse(d, take)) return;
    const auto ev_before = hn::IfThenElseZero(take, ev);
    AddWide(d, ev_before, before_acc);
    if (count_apart) {
      auto keep = hn::Ge(ev, vmin);
      if (filter.has_pivot) keep = hn::And(keep, RankedBeforeLanes(d, xv, i, filter.pivot));
      AddWide(d, hn::IfThenElseZero(keep, ev_before), counted_acc);
    }
  };
  std::size_t i = 0;
  for (; i + N <= n; i += N) step(i, hn::LoadU(d, x + i), hn::LoadU(d, e + i));
  if (i < n) {
    step(i, LoadTail(d, x + i, n - i, -std::numeric_limits<T>::infinity()),
         LoadTail(d, e + i, n - i, T(0)));
  }
  *before_sum = SumOf(before_acc);
  *after_sum = SumOf(after_acc);
  *counted = count_apart ? SumOf(counted_acc) : *before_sum;
}

template <typename T>
HWY_INLINE bool Counted(const T* x, const T* e, std::size_t i,
                        const internal::TokenFilter<T>& filter) {
  if (!(e[i] >= filter.min_e)) return false;
  if (!filter.has_pivot) return true;
  const internal::RankedToken<T> token{x[i], static_cast<std::int64_t>(i)};
  return internal::RankedBefore(token, filter.pivot);
}

// Blocks of kWalkBlock tokens: the block sums are vector sums, the crossing block is walked token
// by token from the running total before it.
constexpr std::size_t kWalkBlock = 512;

template <typename T>
std::int64_t Walk(const T* x, const T* e, std::size_t n, const internal::TokenFilter<T>& filter,
                  double target) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const auto vmin = hn::Set(d, filter.min_e);
  const DD dd;
  double running = 0;
  std::size_t last_positive_block = n;  // the start of the last block with a positive sum
  for (std::size_t start = 0; start < n; start += kWalkBlock) {
    const std::size_t end = std::min(n, start + kWalkBlock);
    auto sum = hn::Zero(dd);
    std::size_t i = start;
    auto add = [&](std::size_t at, hn::Vec<decltype(d)> xv, hn::Vec<decltype(d)> ev) HWY_ATTR {
      auto keep = hn::Ge(ev, vmin);
      if (filter.has_pivot) keep = hn::And(keep, RankedBeforeLanes(d, xv, at, filter.pivot));
      AddWide(d, hn::IfThenElseZero(keep, ev), sum);
    };
    for (; i + N <= end; i += N) add(i, hn::LoadU(d, x + i), hn::LoadU(d, e + i));
    if (i < end) {
      add(i, LoadTail(d, x + i, end - i, -std::numeric_limits<T>::infinity()),
          LoadTail(d, e + i, end - i, T(0)));
    }
    const double block = SumOf(sum);
    if (!(block > 0)) continue;
    last_positive_block = start;
    if (running + block <= target) {
      running += block;
      continue;
    }
    // The crossing block, token by token; rounding may leave the token sum short of the block
    // sum, and then the last counted positive token of the block is the answer.
    std::int64_t last = -1;
    for (std::size_t j = start; j < end; ++j) {
      if (!Counted(x, e, j, filter) || !(e[j] > 0)) continue;
      running += static_cast<double>(e[j]);
      last = static_cast<std::int64_t>(j);
      if (running > target) return last;
    }
    return last;
  }
  if (last_positive_block == n) return -1;
  const std::size_t end = std::min(n, last_positive_block + kWalkBlock);
  for (std::size_t j = end; j-- > last_positive_block;) {
    if (Counted(x, e, j, filter) && e[j] > 0) return static_cast<std::int64_t>(j);
  }
  return -1;
}

// Top-k in two passes over the row and a selection among few candidates. Pass 1 takes the max
// of every block of about n / 4k tokens: the k largest block maxima are k tokens, so the k-th
// largest of them, t, is at most the row's k-th largest value, and every token of the top k has
// z >= t. Pass 2 gathers the tokens with z >= t (about 1.5 k on random rows), and the exact top k
// is selected among them. No sort of the vocabulary, and no data-dependent worst case beyond
// ties: a row of equal values gathers every token.
template <typename T>
void TopK(const T* x, std::size_t n, std::size_t k, std::vector<internal::RankedToken<T>>& top,
          std::vector<T>& value_buffer, std::vector<std::int64_t>& index_buffer, bool* nan_or_inf) {
  const hn::ScalableTag<T> d;
  const std::size_t N = hn::Lanes(d);
  const hn::RebindToSigned<decltype(d)> di;
  using TI = hn::TFromD<decltype(di)>;
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  const auto inf = hn::Set(d, std::numeric_limits<T>::infinity());
  const std::size_t block = N * std::clamp<std::size_t>(n / (4 * k * N), 1, 64);
  const std::size_t blocks = (n + block - 1) / block;
  auto bad = hn::Zero(d);
  T threshold = kNegInf;
  if (blocks > k) {
    value_buffer.resize(blocks);
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t begin = b * block, end = std::min(n, begin + block);
      auto m = hn::Set(d, kNegInf);
      std::size_t i = begin;
      for (; i + N <= end; i += N) {
        const auto v = hn::LoadU(d, x + i);
        m = hn::Max(m, v);
        bad = hn::Or(bad, hn::VecFromMask(d, hn::Not(hn::Lt(v, inf))));
      }
      if (i < end) {
        const auto v = LoadTail(d, x + i, end - i, kNegInf);
        m = hn::Max(m, v);
        bad = hn::Or(bad, hn::VecFromMask(d, hn::Not(hn::Lt(v, inf))));
      }
      value_buffer[b] = hn::GetLane(hn::MaxOfLanes(d, m));
    }
    *nan_or_inf = !hn::AllFalse(d, hn::MaskFromVec(bad));
    if (*nan_or_inf) return;
    std::nth_element(value_buffer.begin(),
                     value_buffer.begin() + static_cast<std::ptrdiff_t>(k - 1), value_buffer.end(),
                     std::greater<T>());
    threshold = value_buffer[k - 1];
  }
  // Pass 2: the tokens >= threshold (and > -inf), in index order.
  std::size_t size = 0;
  value_buffer.resize(std::max<std::size_t>(value_buffer.size(), 2 * k + 4 * N));
  index_buffer.resize(value_buffer.size());
  HWY_ALIGN TI lane_index[hn::MaxLanes(decltype(di)())];
  const auto vt = hn::Set(d, threshold), neg_inf = hn::Set(d, kNegInf);
  auto gather = [&](std::size_t i, hn::Vec<decltype(d)> v, std::size_t count) HWY_ATTR {
    if (blocks <= k) {
      bad = hn::Or(bad, hn::VecFromMask(d, hn::And(hn::FirstN(d, count), hn::Not(hn::Lt(v, inf)))));
    }
    const auto take = hn::And(hn::FirstN(d, count), hn::And(hn::Ge(v, vt), hn::Gt(v, neg_inf)));
    if (hn::AllFalse(d, take)) return;
    if (size + N > value_buffer.size()) {
      value_buffer.resize(2 * value_buffer.size());
      index_buffer.resize(value_buffer.size());
    }
    const std::size_t added = hn::CompressStore(v, take, d, value_buffer.data() + size);
    hn::CompressStore(hn::Iota(di, static_cast<TI>(0)), hn::RebindMask(di, take), di, lane_index);
    for (std::size_t j = 0; j < added; ++j) {
      index_buffer[size + j] = static_cast<std::int64_t>(i) + lane_index[j];
    }
    size += added;
  };
  std::size_t i = 0;
  for (; i + N <= n; i += N) gather(i, hn::LoadU(d, x + i), N);
  if (i < n) gather(i, LoadTail(d, x + i, n - i, kNegInf), n - i);
  if (blocks <= k) {
    *nan_or_inf = !hn::AllFalse(d, hn::MaskFromVec(bad));
    if (*nan_or_inf) return;
  }
  top.resize(size);
  for (std::size_t j = 0; j < size; ++j) top[j] = {value_buffer[j], index_buffer[j]};
  if (size > k) {
    auto before = [](const internal::RankedToken<T>& a, const internal::RankedToken<T>& b) {
      return internal::RankedBefore(a, b);
    };
    std::nth_element(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(k - 1), top.end(),
                     before);
    top.resize(k);
  }
}

#if HWY_TARGET != HWY_SCALAR
// Philox4x32-10 on Lanes(u64) counters at once, each 32-bit word in the low half of a u64 lane
// (MulEven multiplies those halves into full 64-bit products); the same bits as the scalar
// Philox4x32 of philox.h (a test compares them).
struct PhiloxLanes {
  hn::Vec<hn::ScalableTag<std::uint64_t>> w0, w1, w2, w3;
};

HWY_INLINE PhiloxLanes Philox4x32Lanes(PhiloxLanes c, std::uint32_t k0, std::uint32_t k1) {
  const hn::ScalableTag<std::uint64_t> du;
  const hn::Repartition<std::uint32_t, decltype(du)> d32;
  const auto mul0 = hn::BitCast(d32, hn::Set(du, 0xD2511F53u));
  const auto mul1 = hn::BitCast(d32, hn::Set(du, 0xCD9E8D57u));
  const auto low = hn::Set(du, 0xffffffffu);
  for (int round = 0; round < 10; ++round) {
    const auto p0 = hn::MulEven(hn::BitCast(d32, c.w0), mul0);
    const auto p1 = hn::MulEven(hn::BitCast(d32, c.w2), mul1);
    const auto hi0 = hn::ShiftRight<32>(p0), hi1 = hn::ShiftRight<32>(p1);
    c = {hn::Xor(hn::Xor(hi1, c.w1), hn::Set(du, k0)), hn::And(p1, low),
         hn::Xor(hn::Xor(hi0, c.w3), hn::Set(du, k1)), hn::And(p0, low)};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

// (2k + 1) 2^-53 for the 52 bits k of words a, b: OpenUniformFromBits of philox.h, in lanes.
HWY_INLINE hn::Vec<DD> OpenUniformLanes(hn::Vec<hn::ScalableTag<std::uint64_t>> a,
                                        hn::Vec<hn::ScalableTag<std::uint64_t>> b) {
  const DD d;
  const hn::ScalableTag<std::int64_t> di;
  const auto bits = hn::Or(hn::ShiftLeft<26>(hn::ShiftRight<6>(a)), hn::ShiftRight<6>(b));
  const auto odd = hn::Add(hn::ShiftLeft<1>(bits), hn::Set(hn::ScalableTag<std::uint64_t>(), 1));
  return hn::Mul(hn::ConvertTo(d, hn::BitCast(di, odd)), hn::Set(d, 0x1p-53));
}
#endif  // HWY_TARGET != HWY_SCALAR

// -log(-log u) for u in (0, 1), in f64 lanes with Highway's log (within 4 ulp); -log u is
// log1p(-(1 - u)) for u > 1/2, where 1 - u is exact, so that u near 1 keeps its digits.
HWY_INLINE hn::Vec<DD> GumbelOf(hn::Vec<DD> u) {
  const DD d;
  const auto near_one = hn::Gt(u, hn::Set(d, 0.5));
  const auto minus_log_u = hn::Neg(
      hn::IfThenElse(near_one, hn::Log1p(d, hn::Neg(hn::Sub(hn::Set(d, 1.0), u))), hn::Log(d, u)));
  return hn::Neg(hn::Log(d, minus_log_u));
}

// The Gumbel noise of tokens [0, n) of a row (see philox.h's token stream): token 2p and 2p + 1
// take the two numbers of call kTokenStream + p. Measured on [8, 128256] f32, 1 thread:
// gumbel_max 17 -> 5.3 ns per token against scalar Philox and two libm logs per token.
void GumbelNoise(std::uint64_t seed, std::uint64_t row_id, std::uint32_t step, double* out,
                 std::size_t n) {
  const DD d;
  const std::size_t pairs = (n + 1) / 2;
#if HWY_TARGET == HWY_SCALAR
  // One lane: the scalar Philox of philox.h.
  const internal::RowRandom random(seed, row_id, step);
  for (std::size_t p = 0; p < pairs; ++p) {
    const std::array<double, 2> u = random.TokenUniforms(static_cast<std::uint32_t>(p));
    out[2 * p] = hn::GetLane(GumbelOf(hn::Set(d, u[0])));
    if (2 * p + 1 < n) out[2 * p + 1] = hn::GetLane(GumbelOf(hn::Set(d, u[1])));
  }
#else
  const hn::ScalableTag<std::uint64_t> du;
  const std::size_t N = hn::Lanes(du);
  const auto k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  const auto w1 = hn::Set(du, step), w2 = hn::Set(du, static_cast<std::uint32_t>(row_id));
  const auto w3 = hn::Set(du, static_cast<std::uint32_t>(row_id >> 32));
  HWY_ALIGN double first[hn::MaxLanes(DD())], second[hn::MaxLanes(DD())];
  for (std::size_t p = 0; p < pairs; p += N) {
    const auto call = hn::Add(hn::Iota(du, internal::RowRandom::kTokenStream),
                              hn::Set(du, static_cast<std::uint64_t>(p)));
    const PhiloxLanes w = Philox4x32Lanes({call, w1, w2, w3}, k0, k1);
    hn::Store(GumbelOf(OpenUniformLanes(w.w0, w.w1)), d, first);
    hn::Store(GumbelOf(OpenUniformLanes(w.w2, w.w3)), d, second);
    for (std::size_t j = 0; j < N && p + j < pairs; ++j) {
      const std::size_t token = 2 * (p + j);
      out[token] = first[j];
      if (token + 1 < n) out[token + 1] = second[j];
    }
  }
#endif
}

template <typename T>
internal::SamplingKernels<T> MakeSamplingKernels() {
  return {&Scan<T>, &FindFirst<T>, &Exponentials<T>, &MassSplit<T>, &Walk<T>, &TopK<T>};
}

const internal::SamplingKernelTable* GetSamplingKernelTable() {
  static const internal::SamplingKernelTable table = {MakeSamplingKernels<float>(),
                                                      MakeSamplingKernels<double>(), &GumbelNoise};
  return &table;
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx::internal {

HWY_EXPORT(GetSamplingKernelTable);

const SamplingKernelTable& GetSamplingKernels() {
  return *HWY_DYNAMIC_DISPATCH(GetSamplingKernelTable)();
}

}  // namespace smx::internal
#endif  // HWY_ONCE
