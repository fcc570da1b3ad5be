// Numbers as rows of text: values given on the command line, text on stdin, .csv files, and the
// printed or .csv output.
#ifndef SMX_TOOLS_TEXT_IO_H_
#define SMX_TOOLS_TEXT_IO_H_

#include <span>
#include <string>
#include <string_view>

#include "array.h"

namespace smx_cli {

enum class TextFormat {
  kCsv,   // fields separated by commas (spaces around them are allowed)
  kText,  // values separated by whitespace, commas or both
};

// Parses one row per line into a [rows, K] array of `dtype` (f32 or f64). Blank lines are skipped;
// every row must have the same length. A RuntimeError names `source`, the line and the bad field.
Array ParseRows(std::string_view text, TextFormat format, smx::DType dtype,
                const std::string& source);

// Values given as arguments: one row, a [K] array.
Array ParseValues(std::span<const std::string> values, smx::DType dtype);

// One line per row of the last axis (one line for rank 0 or 1), values joined by `separator`, each
// printed by FormatNumber with `significant_digits`.
std::string FormatRows(const Array& array, std::string_view separator, int significant_digits);

}  // namespace smx_cli

#endif  // SMX_TOOLS_TEXT_IO_H_
