// Bars drawn with Unicode block characters, for charts in a terminal: a value in [0, 1] becomes
// a bar of up to `columns` cells, each cell in eighths (▏▎▍▌▋▊▉█).
//
//   Bar(0.8438, 10) == "████████▍ "   (8.4 cells: 8 full cells, then 3 eighths, then padding)
#ifndef SMX_TOOLS_TERM_BARS_H_
#define SMX_TOOLS_TERM_BARS_H_

#include <string>
#include <string_view>

namespace smx_cli {

// A bar of `fraction` (clamped to [0, 1]) of `columns` cells, rounded to the nearest eighth of a
// cell and padded with spaces to exactly `columns` cells. Any positive fraction shows at least ▏,
// so that a small probability never looks like a zero; 0 and NaN give blanks.
std::string Bar(double fraction, int columns);

// Columns that a UTF-8 string takes in a terminal, counting each code point as one (true of the
// block characters, subscripts, arrows and Greek letters the plots use).
int DisplayColumns(std::string_view text);

// `text` padded with spaces on the right (or the left) to `columns`.
std::string PadRight(std::string_view text, int columns);
std::string PadLeft(std::string_view text, int columns);

}  // namespace smx_cli

#endif  // SMX_TOOLS_TERM_BARS_H_
