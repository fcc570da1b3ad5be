#include "term_bars.h"

#include <algorithm>
#include <cmath>

namespace smx_cli {
namespace {

// The eighths of a cell, from none to a full block.
constexpr std::string_view kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"};

}  // namespace

std::string Bar(double fraction, int columns) {
  columns = std::max(columns, 0);
  long eighths = 0;
  if (fraction > 0) {  // false for NaN
    eighths = std::lround(std::min(fraction, 1.0) * columns * 8);
    eighths = std::max(eighths, 1L);
  }
  std::string bar;
  for (long full = eighths / 8; full > 0; --full) bar += kEighths[8];
  bar += kEighths[eighths % 8];
  return PadRight(bar, columns);
}

int DisplayColumns(std::string_view text) {
  int columns = 0;
  for (const unsigned char c : text) columns += (c & 0xC0) != 0x80;  // not a continuation byte
  return columns;
}

std::string PadRight(std::string_view text, int columns) {
  std::string padded(text);
  padded.append(static_cast<std::size_t>(std::max(columns - DisplayColumns(text), 0)), ' ');
  return padded;
}

std::string PadLeft(std::string_view text, int columns) {
  std::string padded(static_cast<std::size_t>(std::max(columns - DisplayColumns(text), 0)), ' ');
  return padded += text;
}

}  // namespace smx_cli
