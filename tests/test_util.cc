#include "test_util.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace smx_test {
namespace {

// Correct rounding to a 16-bit format with positive patterns 0..max_finite (monotonic values),
// given the exact value of each pattern and 2^(emax+1), the value one ulp past the max finite.
template <typename ValueFn>
std::uint16_t RoundTo16(ld v, ValueFn value, std::uint16_t max_finite, std::uint16_t inf_bits,
                        std::uint16_t qnan_bits, ld past_max) {
  if (std::isnan(v)) return qnan_bits;
  const std::uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  const ld a = std::fabs(v);
  // Largest pattern b with value(b) <= a (b = max_finite + 1 stands for past_max).
  std::uint32_t lo = 0, hi = static_cast<std::uint32_t>(max_finite) + 1;
  if (a >= past_max) return sign | inf_bits;
  while (hi - lo > 1) {
    const std::uint32_t mid = (lo + hi) / 2;
    if (value(static_cast<std::uint16_t>(mid)) <= a) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const ld below = value(static_cast<std::uint16_t>(lo));
  if (below == a) return sign | static_cast<std::uint16_t>(lo);
  const ld above = hi > max_finite ? past_max : value(static_cast<std::uint16_t>(hi));
  const ld half = (below + above) / 2;  // exact in long double
  std::uint32_t pick;
  if (a < half) {
    pick = lo;
  } else if (a > half) {
    pick = hi;
  } else {
    pick = (lo % 2 == 0) ? lo : hi;
  }
  if (pick > max_finite) return sign | inf_bits;
  return sign | static_cast<std::uint16_t>(pick);
}

template <typename T>
ld UlpAt(T e) {
  // The gap from |e| to the next value up (or down, at the largest finite value).
  const ld a = std::fabs(Elem<T>::Widen(e));
  if constexpr (sizeof(T) == 2) {
    const std::uint16_t b = static_cast<std::uint16_t>(BitsOf(e) & 0x7FFF);
    const auto value = [](std::uint16_t bits) {
      return std::is_same_v<T, smx::float16> ? F16Value(bits) : BF16Value(bits);
    };
    const ld up = value(static_cast<std::uint16_t>(b + 1));
    if (std::isinf(up)) return a - value(static_cast<std::uint16_t>(b - 1));
    return up - a;
  } else {
    const T ta = static_cast<T>(a);
    const T up = std::nextafter(ta, std::numeric_limits<T>::infinity());
    if (std::isinf(up)) return a - std::nextafter(ta, T(0));
    return static_cast<ld>(up) - a;
  }
}

}  // namespace

ld F16Value(std::uint16_t bits) {
  const int e = (bits >> 10) & 0x1F;
  const int m = bits & 0x3FF;
  ld v;
  if (e == 0x1F) {
    v = m ? std::numeric_limits<ld>::quiet_NaN() : std::numeric_limits<ld>::infinity();
  } else if (e == 0) {
    v = std::ldexp(static_cast<ld>(m), -24);
  } else {
    v = std::ldexp(static_cast<ld>(1024 + m), e - 25);
  }
  return (bits & 0x8000) ? -v : v;
}

ld BF16Value(std::uint16_t bits) {
  const std::uint32_t f = static_cast<std::uint32_t>(bits) << 16;
  float v;
  std::memcpy(&v, &f, 4);
  return v;
}

std::uint16_t RoundToF16Bits(ld v) {
  return RoundTo16(v, F16Value, 0x7BFF, 0x7C00, 0x7E00, std::ldexp(1.0L, 16));
}

std::uint16_t RoundToBF16Bits(ld v) {
  return RoundTo16(v, BF16Value, 0x7F7F, 0x7F80, 0x7FC0, std::ldexp(1.0L, 128));
}

template <typename T>
std::string Describe(T v) {
  char buf[96];
  if constexpr (std::is_same_v<T, float>) {
    std::snprintf(buf, sizeof buf, "%.9g (0x%08" PRIx64 ")", static_cast<double>(v), BitsOf(v));
  } else if constexpr (std::is_same_v<T, double>) {
    std::snprintf(buf, sizeof buf, "%.17g (0x%016" PRIx64 ")", v, BitsOf(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.6g (%s 0x%04x)", static_cast<double>(Elem<T>::Widen(v)),
                  Elem<T>::kName, static_cast<unsigned>(v.bits));
  }
  return buf;
}

template <typename T>
bool ElementMatches(T got, ld want, int ulp_tol, ld ref_err, std::int64_t* dist) {
  *dist = -1;
  const T e = Elem<T>::Round(want);
  const ld ew = Elem<T>::Widen(e);
  const ld g = Elem<T>::Widen(got);
  if (std::isnan(want) || std::isnan(ew)) return std::isnan(g);
  if (std::isinf(ew)) return g == ew;
  if (std::isnan(g) || std::isinf(g)) return false;
  const std::int64_t d = UlpDistance(got, e);
  *dist = d;
  std::int64_t slack = 0;
  if (ref_err > 0) {
    slack =
        static_cast<std::int64_t>(std::min<ld>(std::ceil(ref_err / UlpAt(e)), ld(1) * (1 << 30)));
  }
  if (d <= ulp_tol + slack) return true;
  if constexpr (std::is_same_v<T, float>) {
    // FORMAT.md: f32 truths that are not normal floats pass within 1e-37.
    if (std::fabs(ew) < std::ldexp(1.0L, -126) && std::fabs(g - ew) <= 1e-37L) return true;
  }
  return false;
}

template <typename T>
::testing::AssertionResult MatchesReference(const std::string& label, const T* got, const ld* want,
                                            std::size_t n, int ulp_tol, const ld* ref_err) {
  std::size_t failures = 0;
  std::int64_t worst = 0;
  std::string report;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t d = 0;
    if (ElementMatches(got[i], want[i], ulp_tol, ref_err ? ref_err[i] : 0, &d)) continue;
    if (d < 0 || d > worst) worst = d < 0 ? std::numeric_limits<std::int64_t>::max() : d;
    if (++failures <= 10) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.20Lg", want[i]);
      report += "\n  [" + std::to_string(i) + "] got " + Describe(got[i]) + ", expected " +
                Describe(Elem<T>::Round(want[i])) + " (exact " + buf + "), " +
                (d < 0 ? std::string("special-value mismatch") : std::to_string(d) + " ULP");
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << label << ": " << failures << " of " << n << " elements off by more than " << ulp_tol
         << " ULP (" << Elem<T>::kName << ")" << report << (failures > 10 ? "\n  ..." : "");
}

template <typename T>
::testing::AssertionResult BitwiseEqual(const std::string& label, const T* a, const T* b,
                                        std::size_t n) {
  std::size_t diffs = 0;
  std::string report;
  for (std::size_t i = 0; i < n; ++i) {
    if (BitsOf(a[i]) == BitsOf(b[i])) continue;
    if (++diffs <= 10) {
      report += "\n  [" + std::to_string(i) + "] " + Describe(a[i]) + " vs " + Describe(b[i]);
    }
  }
  if (diffs == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << label << ": " << diffs << " of " << n << " elements differ bitwise" << report;
}

std::string Label(Op op, const char* dtype, std::size_t k, std::size_t rows, double temperature,
                  const std::string& extra) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %s rows=%zu K=%zu T=%.10g", OpName(op), dtype, rows, k,
                temperature);
  return extra.empty() ? std::string(buf) : std::string(buf) + " " + extra;
}

#define SMX_TEST_INSTANTIATE(T)                                                                    \
  template std::string Describe<T>(T);                                                             \
  template bool ElementMatches<T>(T, ld, int, ld, std::int64_t*);                                  \
  template ::testing::AssertionResult MatchesReference<T>(const std::string&, const T*, const ld*, \
                                                          std::size_t, int, const ld*);            \
  template ::testing::AssertionResult BitwiseEqual<T>(const std::string&, const T*, const T*,      \
                                                      std::size_t);
SMX_TEST_INSTANTIATE(float)
SMX_TEST_INSTANTIATE(double)
SMX_TEST_INSTANTIATE(smx::float16)
SMX_TEST_INSTANTIATE(smx::bfloat16)
#undef SMX_TEST_INSTANTIATE

}  // namespace smx_test
