// Element conversions and layouts (see include/smx/tensor.h).
#include "smx/tensor.h"

#include <bit>
#include <cstdint>

namespace smx {
namespace {

std::uint32_t Bits(float f) { return std::bit_cast<std::uint32_t>(f); }
float FromBits(std::uint32_t u) { return std::bit_cast<float>(u); }

}  // namespace

float to_float(bfloat16 b) { return FromBits(static_cast<std::uint32_t>(b.bits) << 16); }

bfloat16 to_bfloat16(float f) {
  const std::uint32_t u = Bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep the sign, force a quiet payload
    return bfloat16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
  }
  // Round to nearest even: add 0x7fff plus the lowest kept bit, then truncate. Overflow carries
  // into the exponent and gives inf, as it should.
  const std::uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
  return bfloat16{static_cast<std::uint16_t>(rounded >> 16)};
}

float to_float(float16 h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (h.bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = h.bits & 0x3ffu;
  if (exponent == 0x1f) return FromBits(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return FromBits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24, exact in float.
  const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
  return sign ? -magnitude : magnitude;
}

float16 to_float16(float f) {
  const std::uint32_t u = Bits(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) {  // NaN
    return float16{static_cast<std::uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu))};
  }
  if (abs >= 0x477ff000u) return float16{static_cast<std::uint16_t>(sign | 0x7c00u)};  // >= 65520
  if (abs < 0x38800000u) {
    // Below 2^-14: the f16 subnormal range. Adding 0.5 (2^-1) puts the value's 2^-24 units in the
    // low mantissa bits of a float whose addition rounds to nearest even, exactly as f16 would.
    const float shifted = std::bit_cast<float>(abs) + 0.5f;
    return float16{static_cast<std::uint16_t>(sign | (Bits(shifted) - 0x3f000000u))};
  }
  // Normal: rebias the exponent and round the 13 dropped bits to nearest even.
  const std::uint32_t rebased = abs - (112u << 23);
  const std::uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return float16{static_cast<std::uint16_t>(sign | (rounded >> 13))};
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "f32";
    case DType::kF64: return "f64";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
  }
  return "unknown";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kF64: return 8;
    case DType::kF16:
    case DType::kBF16: return 2;
  }
  return 0;
}

Layout Layout::Contiguous(std::span<const std::int64_t> shape) {
  Layout layout;
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) {
    layout.rank = -1;
    return layout;
  }
  layout.rank = static_cast<int>(shape.size());
  std::int64_t stride = 1;
  for (int d = layout.rank - 1; d >= 0; --d) {
    layout.shape[d] = shape[d];
    layout.strides[d] = stride;
    stride *= shape[d] > 0 ? shape[d] : 1;
  }
  return layout;
}

Layout Layout::Strided(std::span<const std::int64_t> shape, std::span<const std::int64_t> strides) {
  Layout layout;
  if (shape.size() > static_cast<std::size_t>(kMaxRank) || strides.size() != shape.size()) {
    layout.rank = -1;
    return layout;
  }
  layout.rank = static_cast<int>(shape.size());
  for (int d = 0; d < layout.rank; ++d) {
    layout.shape[d] = shape[d];
    layout.strides[d] = strides[d];
  }
  return layout;
}

std::int64_t Layout::num_elements() const {
  std::int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= shape[d];
  return n;
}

}  // namespace smx
