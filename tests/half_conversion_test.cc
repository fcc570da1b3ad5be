// smx::to_float, to_float16 and to_bfloat16 against this file's own exact arithmetic: exact
// widening of all 65536 patterns, round trips, round-to-nearest-even at every halfway point and
// next to it, subnormal f16, overflow to infinity, and NaN (quiet, never infinity).
#include <cstring>

#include "test_util.h"

namespace smx_test {
namespace {

float FloatFromBits(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

bool IsNaN16(std::uint16_t bits, bool f16) {
  return f16 ? ((bits & 0x7C00) == 0x7C00 && (bits & 0x03FF))
             : ((bits & 0x7F80) == 0x7F80 && (bits & 0x007F));
}

template <bool kF16>
std::uint16_t Lib(float f) {
  if constexpr (kF16) {
    return smx::to_float16(f).bits;
  } else {
    return smx::to_bfloat16(f).bits;
  }
}
template <bool kF16>
float LibWiden(std::uint16_t b) {
  if constexpr (kF16) {
    return smx::to_float(smx::float16{b});
  } else {
    return smx::to_float(smx::bfloat16{b});
  }
}
template <bool kF16>
ld Value(std::uint16_t b) {
  return kF16 ? F16Value(b) : BF16Value(b);
}
template <bool kF16>
std::uint16_t Want(float f) {
  return kF16 ? RoundToF16Bits(f) : RoundToBF16Bits(f);
}

// Compares the library's rounding of f with the expected pattern (NaN: any quiet NaN).
template <bool kF16>
::testing::AssertionResult RoundsRight(float f) {
  const std::uint16_t got = Lib<kF16>(f), want = Want<kF16>(f);
  if (std::isnan(f)) {
    const std::uint16_t quiet = kF16 ? 0x0200 : 0x0040;
    if (IsNaN16(got, kF16) && (got & quiet)) return ::testing::AssertionSuccess();
  } else if (got == want) {
    return ::testing::AssertionSuccess();
  }
  std::uint32_t fb;
  std::memcpy(&fb, &f, 4);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s(%.9g = 0x%08x) = 0x%04x, expected 0x%04x",
                kF16 ? "to_float16" : "to_bfloat16", static_cast<double>(f), fb, got, want);
  return ::testing::AssertionFailure() << buf;
}

template <bool kF16>
void ExhaustiveWidenAndRoundTrip() {
  std::size_t failures = 0;
  for (std::uint32_t b = 0; b <= 0xFFFF && failures < 20; ++b) {
    const auto h = static_cast<std::uint16_t>(b);
    const float w = LibWiden<kF16>(h);
    const ld want = Value<kF16>(h);
    if (std::isnan(want)) {
      if (!std::isnan(w)) {
        ADD_FAILURE() << "to_float(0x" << std::hex << b << ") is not NaN";
        ++failures;
      }
      if (!IsNaN16(Lib<kF16>(w), kF16)) {
        ADD_FAILURE() << "NaN 0x" << std::hex << b << " does not round-trip to a NaN";
        ++failures;
      }
      continue;
    }
    if (static_cast<ld>(w) != want || std::signbit(w) != std::signbit(want)) {
      ADD_FAILURE() << "to_float(0x" << std::hex << b << ") = " << w << ", exact "
                    << static_cast<double>(want);
      ++failures;
    }
    if (Lib<kF16>(w) != h) {
      ADD_FAILURE() << "round trip of 0x" << std::hex << b << " gives 0x" << Lib<kF16>(w);
      ++failures;
    }
  }
}

template <bool kF16>
void HalfwayPoints() {
  // Between each pair of neighbouring finite values: the midpoint (ties to even) and the floats
  // just below and above it. The midpoints need one more bit than the 16-bit type: exact in f32.
  const std::uint16_t max_finite = kF16 ? 0x7BFF : 0x7F7F;
  std::size_t failures = 0;
  for (std::uint32_t b = 0; b < max_finite && failures < 20; ++b) {
    const ld lo = Value<kF16>(static_cast<std::uint16_t>(b)),
             hi = Value<kF16>(static_cast<std::uint16_t>(b + 1));
    const float mid = static_cast<float>((lo + hi) / 2);
    ASSERT_EQ(static_cast<ld>(mid), (lo + hi) / 2);
    for (float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f)}) {
      for (float s : {f, -f}) {
        const auto r = RoundsRight<kF16>(s);
        if (!r) {
          ADD_FAILURE() << r.message();
          ++failures;
        }
      }
    }
  }
}

template <bool kF16>
void SpecialsAndRandom() {
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f,
                            -0.0f,
                            inf,
                            -inf,
                            std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            FloatFromBits(0x7F800001),
                            FloatFromBits(0xFF800001),
                            FloatFromBits(0x7FBFFFFF),  // signalling NaNs
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::denorm_min(),
                            65504.0f,
                            65519.0f,
                            65520.0f,
                            65536.0f,
                            1e5f,
                            std::ldexp(1.0f, -24),
                            std::ldexp(1.0f, -25),
                            std::ldexp(1.5f, -25),
                            std::ldexp(1.0f, -26),
                            std::ldexp(1.0f, -14),
                            std::ldexp(1023.0f, -24),
                            3.3895314e38f,
                            FloatFromBits(0x7F7F8000),
                            FloatFromBits(0x7F7F7FFF)};
  for (float f : specials) EXPECT_TRUE(RoundsRight<kF16>(f));
  EXPECT_EQ(Lib<kF16>(-0.0f), 0x8000);
  EXPECT_EQ(Lib<kF16>(inf), kF16 ? 0x7C00 : 0x7F80);
  // Random bit patterns (every exponent) and random values in the 16-bit type's range.
  std::mt19937_64 rng(1);
  std::size_t failures = 0;
  for (int i = 0; i < 1000000 && failures < 20; ++i) {
    const float f = FloatFromBits(static_cast<std::uint32_t>(rng()));
    const float g = std::ldexp(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng),
                               static_cast<int>(rng() % 48) - 30);
    for (float x : {f, g}) {
      const auto r = RoundsRight<kF16>(x);
      if (!r) {
        ADD_FAILURE() << r.message();
        ++failures;
      }
    }
  }
}

TEST(HalfConversion, F16WidenAndRoundTripAllPatterns) { ExhaustiveWidenAndRoundTrip<true>(); }
TEST(HalfConversion, BF16WidenAndRoundTripAllPatterns) { ExhaustiveWidenAndRoundTrip<false>(); }
TEST(HalfConversion, F16HalfwayPoints) { HalfwayPoints<true>(); }
TEST(HalfConversion, BF16HalfwayPoints) { HalfwayPoints<false>(); }
TEST(HalfConversion, F16SpecialsAndRandom) { SpecialsAndRandom<true>(); }
TEST(HalfConversion, BF16SpecialsAndRandom) { SpecialsAndRandom<false>(); }

}  // namespace
}  // namespace smx_test
