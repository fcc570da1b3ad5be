#include "numbers.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <system_error>

namespace smx_cli {
namespace {

// std::from_chars accepts a leading '-' but not '+'; a second sign ("+-1") is still rejected.
std::string_view DropPlusSign(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') {
    text.remove_prefix(1);
  }
  return text;
}

template <typename T>
T StrToFloat(const char* s) {
  if constexpr (std::is_same_v<T, float>) {
    return std::strtof(s, nullptr);
  } else {
    return std::strtod(s, nullptr);
  }
}

template <typename T>
std::optional<T> ParseFloating(std::string_view text, bool* overflows) {
  if (overflows != nullptr) *overflows = false;
  text = DropPlusSign(text);
  if (text.empty()) return std::nullopt;
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (ptr != end) return std::nullopt;
  if (ec == std::errc()) return value;
  if (ec != std::errc::result_out_of_range) return std::nullopt;
  // from_chars reports underflow and overflow alike; strtod tells them apart and rounds an
  // underflow to the nearest subnormal, which is what a user who typed 1e-320 means.
  const T rounded = StrToFloat<T>(std::string(text).c_str());
  if (std::isinf(rounded)) {
    if (overflows != nullptr) *overflows = true;
    return std::nullopt;
  }
  return rounded;
}

// The shortest digits that read back as the same 16-bit value. std::to_chars has no 16-bit
// overload, and the shortest float digits of a float16 value are longer than needed.
std::string ShortestSixteenBit(float value, smx::DType dtype) {
  auto to_bits = [dtype](float f) -> std::uint16_t {
    return dtype == smx::DType::kF16 ? smx::to_float16(f).bits : smx::to_bfloat16(f).bits;
  };
  const std::uint16_t want = to_bits(value);
  char buffer[64];
  for (int digits = 1; digits <= 9; ++digits) {
    auto result =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, digits);
    float back = 0;
    std::from_chars(buffer, result.ptr, back, std::chars_format::general);
    if (to_bits(back) == want) return std::string(buffer, result.ptr);
  }
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // unreachable in practice
  return std::string(buffer, result.ptr);
}

template <typename T>
std::string ToChars(T value, int significant_digits) {
  char buffer[128];
  auto result = significant_digits > 0
                    ? std::to_chars(buffer, buffer + sizeof buffer, value,
                                    std::chars_format::general, significant_digits)
                    : std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

}  // namespace

std::optional<double> ParseDouble(std::string_view text, bool* overflows) {
  return ParseFloating<double>(text, overflows);
}

std::optional<float> ParseFloat(std::string_view text, bool* overflows) {
  return ParseFloating<float>(text, overflows);
}

bool LooksLikeNumber(std::string_view text) {
  bool overflows = false;
  return ParseDouble(text, &overflows).has_value() || overflows;
}

std::optional<long long> ParseInteger(std::string_view text) {
  text = DropPlusSign(text);
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string FormatNumber(double value, smx::DType dtype, int significant_digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  switch (dtype) {
    case smx::DType::kF64: return ToChars(value, significant_digits);
    case smx::DType::kF32: return ToChars(static_cast<float>(value), significant_digits);
    case smx::DType::kF16:
    case smx::DType::kBF16:
      if (significant_digits > 0) return ToChars(static_cast<float>(value), significant_digits);
      return ShortestSixteenBit(static_cast<float>(value), dtype);
  }
  return ToChars(value, significant_digits);
}

}  // namespace smx_cli
