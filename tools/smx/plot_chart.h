// The pieces the SVG plots share: a plot area that maps data to the canvas, axes with ticks and
// titles, and the text of numbers and temperatures.
#ifndef SMX_TOOLS_PLOT_CHART_H_
#define SMX_TOOLS_PLOT_CHART_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "svg.h"

namespace smx_cli {

// A plot area on the canvas and the data ranges it shows (y grows upwards, as in mathematics).
struct Chart {
  double left, top, width, height;  // the area, in SVG units
  double x_min, x_max, y_min, y_max;
  bool log_x = false;  // x on a logarithmic scale (x_min > 0)

  double X(double x) const;
  double Y(double y) const;
  double right() const { return left + width; }
  double bottom() const { return top + height; }
};

struct Tick {
  double value;
  std::string label;
};

// About `count` round ticks (steps of 1, 2 or 5 times a power of 10) in [min, max].
std::vector<Tick> LinearTicks(double min, double max, int count);
// The powers of 10 in [min, max], and min and max themselves when fewer than two fall inside.
std::vector<Tick> DecadeTicks(double min, double max);

// An axis along the bottom (left) of the chart: its line, ticks, light grid lines across the
// area, tick labels (class "tick-label") and a title (class "axis-label").
void DrawXAxis(Svg& svg, const Chart& chart, const std::vector<Tick>& ticks,
               std::string_view title);
void DrawYAxis(Svg& svg, const Chart& chart, const std::vector<Tick>& ticks,
               std::string_view title);

// A plot's title (class "title", bold) and a line under it (class "subtitle").
void DrawTitle(Svg& svg, double x, double y, std::string_view title, std::string_view subtitle);

std::string Fixed(double value, int decimals);   // "%.*f": probabilities and J to 4 decimals
std::string Short(double value);                 // the shortest digits that read back: "0.5", "inf"
std::string Compact(double value);               // 4 significant digits: axis and class labels
std::string Signed(double value, int decimals);  // "%+.*f": "+0.2227"
std::string Indexed(std::string_view symbol, std::size_t index);  // ("z", 12) -> "z₁₂"
std::string RowText(std::span<const double> values);              // "[3, 1, 0]"
// "T = 0.5", and for the limits "T → 0 (hardmax)" and "T → ∞ (uniform)".
std::string TemperatureText(double temperature);

}  // namespace smx_cli

#endif  // SMX_TOOLS_PLOT_CHART_H_
