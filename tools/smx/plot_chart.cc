#include "plot_chart.h"

#include <cmath>
#include <cstdio>

#include "numbers.h"

namespace smx_cli {
namespace {

constexpr const char* kGridColour = "#e3e3e3";
constexpr const char* kInkColour = "#222222";
constexpr double kTickLength = 5;

// 1, 2 or 5 times a power of 10, the smallest at least `rough`.
double RoundStep(double rough) {
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  for (const double multiple : {1.0, 2.0, 5.0}) {
    if (multiple * power >= rough * (1 - 1e-9)) return multiple * power;
  }
  return 10 * power;
}

}  // namespace

double Chart::X(double x) const {
  const double fraction =
      log_x ? std::log(x / x_min) / std::log(x_max / x_min) : (x - x_min) / (x_max - x_min);
  return left + fraction * width;
}

double Chart::Y(double y) const { return bottom() - (y - y_min) / (y_max - y_min) * height; }

std::vector<Tick> LinearTicks(double min, double max, int count) {
  const double step = RoundStep((max - min) / count);
  std::vector<Tick> ticks;
  for (double k = std::ceil(min / step - 1e-9); k * step <= max + step * 1e-9; ++k) {
    const double value = k * step;  // k times the step, not summed steps: no drift
    ticks.push_back({value, Compact(value)});
  }
  return ticks;
}

std::vector<Tick> DecadeTicks(double min, double max) {
  std::vector<Tick> ticks;
  for (double e = std::ceil(std::log10(min) - 1e-9); e <= std::log10(max) + 1e-9; ++e) {
    const double value = std::pow(10.0, e);
    ticks.push_back({value, Compact(value)});
  }
  if (ticks.size() < 2) ticks = {{min, Compact(min)}, {max, Compact(max)}};
  return ticks;
}

void DrawXAxis(Svg& svg, const Chart& chart, const std::vector<Tick>& ticks,
               std::string_view title) {
  svg.BeginGroup({{"class", "x-axis"}});
  for (const Tick& tick : ticks) {
    const double x = chart.X(tick.value);
    svg.Line(x, chart.top, x, chart.bottom(), {{"class", "grid"}, {"stroke", kGridColour}});
    svg.Line(x, chart.bottom(), x, chart.bottom() + kTickLength, {{"stroke", kInkColour}});
    svg.Text(x, chart.bottom() + 18, tick.label,
             {{"class", "tick-label"}, {"text-anchor", "middle"}});
  }
  svg.Line(chart.left, chart.bottom(), chart.right(), chart.bottom(),
           {{"class", "axis"}, {"stroke", kInkColour}});
  svg.Text(chart.left + chart.width / 2, chart.bottom() + 38, title,
           {{"class", "axis-label"}, {"text-anchor", "middle"}});
  svg.EndGroup();
}

void DrawYAxis(Svg& svg, const Chart& chart, const std::vector<Tick>& ticks,
               std::string_view title) {
  svg.BeginGroup({{"class", "y-axis"}});
  for (const Tick& tick : ticks) {
    const double y = chart.Y(tick.value);
    svg.Line(chart.left, y, chart.right(), y, {{"class", "grid"}, {"stroke", kGridColour}});
    svg.Line(chart.left - kTickLength, y, chart.left, y, {{"stroke", kInkColour}});
    svg.Text(chart.left - 8, y + 4, tick.label, {{"class", "tick-label"}, {"text-anchor", "end"}});
  }
  svg.Line(chart.left, chart.top, chart.left, chart.bottom(),
           {{"class", "axis"}, {"stroke", kInkColour}});
  // Rotated to read upwards along the axis, as in a textbook.
  const double x = chart.left - 44, y = chart.top + chart.height / 2;
  svg.Text(x, y, title,
           {{"class", "axis-label"},
            {"text-anchor", "middle"},
            {"transform", "rotate(-90 " + SvgNumber(x) + " " + SvgNumber(y) + ")"}});
  svg.EndGroup();
}

void DrawTitle(Svg& svg, double x, double y, std::string_view title, std::string_view subtitle) {
  svg.Text(x, y, title, {{"class", "title"}, {"font-size", "15"}, {"font-weight", "bold"}});
  svg.Text(x, y + 18, subtitle, {{"class", "subtitle"}, {"fill", "#444444"}});
}

std::string Fixed(double value, int decimals) {
  char buffer[64];
  // + 0.0 turns -0 (J beside a masked class: -p_i p_j with p_j = 0) into 0: a sign of nothing.
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value + 0.0);
  return buffer;
}

std::string Short(double value) { return FormatNumber(value, smx::DType::kF64); }

std::string Compact(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return std::string(buffer) == "-0" ? "0" : buffer;
}

std::string Signed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%+.*f", decimals, value);
  return buffer;
}

std::string Indexed(std::string_view symbol, std::size_t index) {
  static constexpr const char* kDigits[] = {"₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"};
  std::string text(symbol);
  for (const char digit : std::to_string(index)) text += kDigits[digit - '0'];
  return text;
}

std::string RowText(std::span<const double> values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) text += (i > 0 ? ", " : "") + Short(values[i]);
  return text + "]";
}

std::string TemperatureText(double temperature) {
  if (temperature == 0) return "T → 0 (hardmax)";
  if (std::isinf(temperature)) return "T → ∞ (uniform)";
  return "T = " + Short(temperature);
}

}  // namespace smx_cli
