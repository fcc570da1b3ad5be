// Numbers as text: the one parser and the one printer of the tool, so that every input (arguments,
// stdin, .csv) reads the same way and every output prints the same way.
#ifndef SMX_TOOLS_NUMBERS_H_
#define SMX_TOOLS_NUMBERS_H_

#include <optional>
#include <string>
#include <string_view>

#include "smx/tensor.h"

namespace smx_cli {

// Parses `text` when the whole of it is one number: decimal or scientific notation with an optional
// sign ("-1.5", "+2", ".5", "1e-3"), or a special value in any case ("nan", "NaN", "inf", "-Inf",
// "+infinity"). A number too large for T sets *overflows (when given) and returns nullopt; one too
// small rounds to a subnormal or zero, as strtod does.
std::optional<double> ParseDouble(std::string_view text, bool* overflows = nullptr);
std::optional<float> ParseFloat(std::string_view text, bool* overflows = nullptr);

// True if `text` reads as a number (even one out of range), so that "-1.5" and "-inf" on a command
// line are values, not options.
bool LooksLikeNumber(std::string_view text);

// A whole-token decimal integer ("-1", "15"); nullopt otherwise.
std::optional<long long> ParseInteger(std::string_view text);

// Prints `value`, which must be exactly representable in `dtype`. With significant_digits == 0 it
// prints the shortest digits that read back as the same `dtype` value; otherwise that many
// significant digits. NaN of either sign prints "nan"; infinities print "inf" and "-inf".
std::string FormatNumber(double value, smx::DType dtype, int significant_digits = 0);

}  // namespace smx_cli

#endif  // SMX_TOOLS_NUMBERS_H_
