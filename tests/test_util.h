// Helpers shared by the smx tests: element traits, ULP distances and element-wise comparison by
// the rules of /work/shared/golden/FORMAT.md section 2, 16-bit rounding done independently of
// the library, padded buffers that detect stray writes, and a uniform way to call the three ops.
#ifndef SMX_TESTS_TEST_UTIL_H_
#define SMX_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "reference.h"
#include "smx/smx.hpp"

namespace smx_test {

using ld = long double;
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- 16-bit types, computed here without the library's conversions ----
ld F16Value(std::uint16_t bits);   // exact value of an IEEE binary16 pattern
ld BF16Value(std::uint16_t bits);  // exact value of a bfloat16 pattern
// Correctly rounded (nearest, ties to even) from a long double; NaN -> quiet NaN, overflow -> inf.
std::uint16_t RoundToF16Bits(ld v);
std::uint16_t RoundToBF16Bits(ld v);

// ---- Element traits ----
template <typename T>
struct Elem;
template <>
struct Elem<float> {
  static constexpr int kUlp = 4;  // the contract: 4 ULP, and 1e-37 below 2^-126
  static constexpr const char* kName = "f32";
  static ld Widen(float v) { return v; }
  static float Round(ld v) { return static_cast<float>(v); }
};
template <>
struct Elem<double> {
  static constexpr int kUlp = 8;  // the contract: 8 ULP
  static constexpr const char* kName = "f64";
  static ld Widen(double v) { return v; }
  static double Round(ld v) { return static_cast<double>(v); }
};
template <>
struct Elem<smx::float16> {
  static constexpr int kUlp = 1;  // 1 ULP of the 16-bit type (the brief)
  static constexpr const char* kName = "f16";
  static ld Widen(smx::float16 v) { return F16Value(v.bits); }
  static smx::float16 Round(ld v) { return smx::float16{RoundToF16Bits(v)}; }
};
template <>
struct Elem<smx::bfloat16> {
  static constexpr int kUlp = 1;
  static constexpr const char* kName = "bf16";
  static ld Widen(smx::bfloat16 v) { return BF16Value(v.bits); }
  static smx::bfloat16 Round(ld v) { return smx::bfloat16{RoundToBF16Bits(v)}; }
};

// Bit pattern of an element, for bitwise comparisons.
template <typename T>
std::uint64_t BitsOf(T v) {
  if constexpr (sizeof(T) == 2) {
    return v.bits;
  } else {
    std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t> b;
    std::memcpy(&b, &v, sizeof(T));
    return b;
  }
}

// An integer monotonic in the value, with +0 and -0 both mapped to 0.
template <typename T>
std::int64_t OrderedInt(T v) {
  constexpr int kBits = 8 * sizeof(T);
  const std::uint64_t b = BitsOf(v);
  const std::uint64_t sign = std::uint64_t{1} << (kBits - 1);
  const std::int64_t mag = static_cast<std::int64_t>(b & (sign - 1));
  return (b & sign) ? -mag : mag;
}
template <typename T>
std::int64_t UlpDistance(T a, T b) {
  const std::int64_t d = OrderedInt(a) - OrderedInt(b);
  return d < 0 ? -d : d;
}

template <typename T>
std::vector<ld> Widen(std::span<const T> v) {
  std::vector<ld> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = Elem<T>::Widen(v[i]);
  return out;
}
template <typename T>
std::vector<ld> Widen(const std::vector<T>& v) {
  return Widen(std::span<const T>(v));
}

// Formats a value for failure messages ("1.2345678e-05 (0x3727c5ac)").
template <typename T>
std::string Describe(T v);

// Compares one element against a wanted value by FORMAT.md's rules: NaN must be NaN, +-inf the
// same infinity; otherwise the ULP distance to Round(want) (f32: or |got - e| <= 1e-37 when e is
// not normal). ref_err (an absolute bound on the reference's own error) widens the tolerance by
// ceil(ref_err / ulp(e)) ULP. Returns true on a pass; *dist gets the ULP distance (-1 for a
// special-value mismatch).
template <typename T>
bool ElementMatches(T got, ld want, int ulp_tol, ld ref_err, std::int64_t* dist);

// Element-wise comparison of n outputs against a reference. Reports the label, each failing
// index (up to 10), got, expected and the ULP distance, and the number of failures.
template <typename T>
::testing::AssertionResult MatchesReference(const std::string& label, const T* got, const ld* want,
                                            std::size_t n, int ulp_tol = Elem<T>::kUlp,
                                            const ld* ref_err = nullptr);
template <typename T>
::testing::AssertionResult MatchesReference(const std::string& label, const std::vector<T>& got,
                                            const std::vector<ld>& want,
                                            int ulp_tol = Elem<T>::kUlp,
                                            const std::vector<ld>* ref_err = nullptr) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure()
           << label << ": " << got.size() << " outputs, reference has " << want.size();
  }
  return MatchesReference(label, got.data(), want.data(), got.size(), ulp_tol,
                          ref_err && !ref_err->empty() ? ref_err->data() : nullptr);
}

// Bitwise equality of two output arrays.
template <typename T>
::testing::AssertionResult BitwiseEqual(const std::string& label, const T* a, const T* b,
                                        std::size_t n);

// ---- Buffers ----
// n elements at `offset` elements past a 64-byte boundary, with guard bytes before and after
// (filled with 0xA5) to catch writes outside [data(), data() + n).
template <typename T>
class Buffer {
 public:
  explicit Buffer(std::size_t n, std::size_t offset = 0)
      : n_(n), offset_(offset), storage_((offset + n + kGuard) * sizeof(T) + 64 + 64) {
    std::memset(storage_.data(), 0xA5, storage_.size());
    const auto base = reinterpret_cast<std::uintptr_t>(storage_.data());
    begin_ = reinterpret_cast<unsigned char*>((base + 63) / 64 * 64);
  }
  T* data() { return reinterpret_cast<T*>(begin_) + offset_; }
  const T* data() const { return reinterpret_cast<const T*>(begin_) + offset_; }
  std::size_t size() const { return n_; }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  std::vector<T> ToVector() const { return std::vector<T>(data(), data() + n_); }
  void Assign(std::span<const T> v) {
    if (!v.empty()) std::memcpy(data(), v.data(), v.size_bytes());
  }
  // True if nothing outside the n elements was written.
  bool GuardsIntact() const {
    const auto* lo = reinterpret_cast<const unsigned char*>(data());
    const auto* hi = reinterpret_cast<const unsigned char*>(data() + n_);
    for (const unsigned char* p = storage_.data(); p < lo; ++p) {
      if (*p != 0xA5) return false;
    }
    for (const unsigned char* p = hi; p < storage_.data() + storage_.size(); ++p) {
      if (*p != 0xA5) return false;
    }
    return true;
  }

 private:
  static constexpr std::size_t kGuard = 64;
  std::size_t n_, offset_;
  std::vector<unsigned char> storage_;
  unsigned char* begin_;
};

// ---- Random fills ----
// Uniform in [lo, hi], rounded to T.
template <typename T>
std::vector<T> RandomUniform(std::mt19937_64& rng, std::size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = Elem<T>::Round(u(rng));
  return v;
}
template <typename T>
std::vector<T> RandomNormal(std::mt19937_64& rng, std::size_t n, double mean, double sd) {
  std::normal_distribution<double> g(mean, sd);
  std::vector<T> v(n);
  for (auto& x : v) x = Elem<T>::Round(g(rng));
  return v;
}
template <typename T>
T FromDouble(double v) {
  return Elem<T>::Round(v);
}

// ---- Calling the library ----
// Runs `op` on x (shape/strides in x) into y; for logsumexp y is the output without the axis.
template <typename T>
smx::Status RunOp(Op op, const smx::TensorView<const T>& x, const smx::TensorView<T>& y,
                  double temperature = 1.0, int axis = -1) {
  switch (op) {
    case Op::kSoftmax: return smx::softmax(x, y, {.temperature = temperature, .axis = axis});
    case Op::kLogSoftmax: return smx::log_softmax(x, y, {.temperature = temperature, .axis = axis});
    case Op::kLogSumExp: return smx::logsumexp(x, y, {.axis = axis});
  }
  return smx::Status(smx::StatusCode::kInternal, "bad op");
}

// Runs `op` on a contiguous [rows, k] block; y has rows*k elements (rows for logsumexp).
template <typename T>
smx::Status RunRows(Op op, const T* x, T* y, std::size_t rows, std::size_t k,
                    double temperature = 1.0) {
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k)};
  const std::int64_t out_shape[1] = {static_cast<std::int64_t>(rows)};
  const smx::TensorView<const T> xv(x, shape);
  if (op == Op::kLogSumExp) return RunOp<T>(op, xv, smx::TensorView<T>(y, out_shape));
  return RunOp<T>(op, xv, smx::TensorView<T>(y, shape), temperature);
}

inline std::size_t OutputSize(Op op, std::size_t rows, std::size_t k) {
  return op == Op::kLogSumExp ? rows : rows * k;
}

// "softmax f32 K=17 rows=3 T=0.5 off=1"-style labels.
std::string Label(Op op, const char* dtype, std::size_t k, std::size_t rows, double temperature,
                  const std::string& extra = "");

// FORMAT.md's relative rule: |got - want| <= max(abs, rel |want|); NaN must be NaN, infinities
// equal.
template <typename T>
::testing::AssertionResult MatchesRel(const std::string& label, const std::vector<T>& got,
                                      const std::vector<ld>& want, double rel, double abs) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << label << ": " << got.size() << " values, want "
                                         << want.size();
  }
  std::size_t bad = 0;
  std::string first;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const ld g = Elem<T>::Widen(got[i]), w = want[i];
    bool ok;
    if (std::isnan(w)) {
      ok = std::isnan(g);
    } else if (std::isinf(w)) {
      ok = g == w;
    } else {
      ok = std::isfinite(g) && std::fabs(g - w) <= std::fmax(ld(abs), ld(rel) * std::fabs(w));
    }
    if (!ok && bad++ == 0) {
      // Formatted in one call: building it with std::string's + tripped GCC 12's -Wrestrict (a
      // false positive, GCC bug 105651).
      char text[160];
      std::snprintf(text, sizeof text, "[%zu] got %s, want %.17Lg", i, Describe(got[i]).c_str(),
                    w);
      first = text;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << label << ": " << bad << " of " << got.size()
                                       << " off (rel " << rel << ", abs " << abs << "); " << first;
}

template <typename T>
std::vector<T> Cast(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
  return out;
}

}  // namespace smx_test

#endif  // SMX_TESTS_TEST_UTIL_H_
