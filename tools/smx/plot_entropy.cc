// smx plot entropy: H(softmax(z / T)) against the temperature. It rises from log m at T -> 0 (the
// hardmax shares the mass among the m maxima) to log K at T -> inf (uniform over the K finite
// logits), the least and the most uncertain softmax can be for these logits.
#include <algorithm>
#include <cmath>

#include "plot.h"
#include "plot_chart.h"
#include "term_bars.h"

namespace smx_cli {
namespace {

constexpr int kIntervals = 120;   // 121 temperatures, evenly spaced on the log axis
constexpr int kValueColumns = 6;  // "1.0986"

struct Curve {
  std::vector<double> t, h;
  double at_zero, at_infinity;  // the limits, as the library gives them at T = 0 and T = inf
  std::size_t maxima = 0, classes = 0;  // m and K
};

// T evenly spaced on a log scale from the range's start to its end.
double LogSpaced(const PlotArgs& args, int i, int intervals) {
  return args.range_min *
         std::pow(args.range_max / args.range_min, static_cast<double>(i) / intervals);
}

Curve Compute(const PlotArgs& args) {
  Curve c;
  for (int i = 0; i <= kIntervals; ++i) {
    c.t.push_back(LogSpaced(args, i, kIntervals));
    c.h.push_back(EntropyOf(args.logits, c.t.back()));
  }
  c.at_zero = EntropyOf(args.logits, 0);
  c.at_infinity = EntropyOf(args.logits, INFINITY);
  const double top = *std::max_element(args.logits.begin(), args.logits.end());
  for (const double z : args.logits) {
    c.maxima += z == top;
    c.classes += std::isfinite(z);
  }
  return c;
}

std::string ZeroLimitText(const Curve& c) {
  return "T → 0: hardmax over m = " + std::to_string(c.maxima) + ", H = log " +
         std::to_string(c.maxima) + " = " + Fixed(c.at_zero, 4);
}

std::string InfinityLimitText(const Curve& c) {
  return "T → ∞: uniform over K = " + std::to_string(c.classes) + ", H = log " +
         std::to_string(c.classes) + " = " + Fixed(c.at_infinity, 4);
}

// A limit of H: a dashed line across the chart, named in the margin on its right (inside, it
// would cross the curve, which approaches both lines).
struct Limit {
  double h;
  const char* name;   // "0" or "inf"
  std::string what;   // "T → 0: H = log 1"
  std::string value;  // "= 0.0000 (hardmax)"
};

void DrawLimit(Svg& svg, const Chart& chart, const Limit& limit, double label_y) {
  const double y = chart.Y(limit.h);
  svg.Line(chart.left, y, chart.right(), y,
           {{"class", "reference"},
            {"data-limit", limit.name},
            {"data-value", Short(limit.h)},
            {"stroke", "#888888"},
            {"stroke-dasharray", "5 4"}});
  svg.Text(chart.right() + 14, label_y - 2, limit.what, {{"class", "reference-label"}});
  svg.Text(chart.right() + 14, label_y + 12, limit.value, {{"class", "reference-label"}});
}

void DrawLimits(Svg& svg, const Chart& chart, const Curve& c) {
  const std::string m = std::to_string(c.maxima), k = std::to_string(c.classes);
  const Limit zero{c.at_zero, "0", "T → 0: H = log " + m,
                   "= " + Fixed(c.at_zero, 4) + " (hardmax)"};
  const Limit infinity{c.at_infinity, "inf", "T → ∞: H = log " + k,
                       "= " + Fixed(c.at_infinity, 4) + " (uniform)"};
  const double infinity_y = chart.Y(infinity.h);
  DrawLimit(svg, chart, infinity, infinity_y);
  DrawLimit(svg, chart, zero, std::max(chart.Y(zero.h), infinity_y + 32));  // never overlapping
}

void DrawUnitMarker(Svg& svg, const Chart& chart) {
  if (chart.x_min > 1 || chart.x_max < 1) return;
  const double x = chart.X(1);
  svg.Line(x, chart.top, x, chart.bottom(),
           {{"class", "marker"}, {"stroke", "#aaaaaa"}, {"stroke-dasharray", "2 3"}});
  svg.Text(x + 4, chart.top + 12, "T = 1", {{"class", "marker-label"}, {"fill", "#666666"}});
}

std::string SvgPlot(const PlotArgs& args, const Curve& c) {
  const double top = std::max(c.at_infinity, *std::max_element(c.h.begin(), c.h.end()));
  const double y_max = top > 0 ? top * 1.15 : 1;
  Svg svg(720, 440, "H(softmax(z / T)) against T for z = " + RowText(args.logits));
  DrawTitle(svg, 16, 24, "Entropy H(softmax(z / T)) against T, z = " + RowText(args.logits),
            "H = −Σ p_i log p_i in nats; dashed: its limits log m (m = " +
                std::to_string(c.maxima) + (c.maxima == 1 ? " maximum" : " maxima") +
                ") and log K (K = " + std::to_string(c.classes) + " logits)");
  const Chart chart{.left = 72,
                    .top = 64,
                    .width = 480,
                    .height = 300,
                    .x_min = args.range_min,
                    .x_max = args.range_max,
                    .y_min = 0,
                    .y_max = y_max,
                    .log_x = true};
  DrawXAxis(svg, chart, DecadeTicks(args.range_min, args.range_max), "temperature T (log scale)");
  DrawYAxis(svg, chart, LinearTicks(0, y_max, 5), "entropy H (nats)");
  DrawUnitMarker(svg, chart);
  DrawLimits(svg, chart, c);
  std::vector<Point> points;
  for (std::size_t i = 0; i < c.t.size(); ++i) points.push_back({chart.X(c.t[i]), chart.Y(c.h[i])});
  svg.Polyline(points,
               {{"class", "curve entropy"}, {"stroke", "#4c78a8"}, {"stroke-width", "2.5"}});
  return svg.Finish();
}

// Rows of T and a bar of H (full width: log K), from the T -> 0 limit through two temperatures
// per decade of the range to the T -> inf limit.
std::string TermPlot(const PlotArgs& args, const Curve& c) {
  const int steps =
      std::max(4, static_cast<int>(std::lround(2 * std::log10(args.range_max / args.range_min))));
  std::vector<std::string> labels = {TemperatureText(0)};
  std::vector<double> h = {c.at_zero};
  for (int i = 0; i <= steps; ++i) {
    const double t = LogSpaced(args, i, steps);
    labels.push_back("T = " + Compact(t));
    h.push_back(EntropyOf(args.logits, t));
  }
  labels.push_back(TemperatureText(INFINITY));
  h.push_back(c.at_infinity);
  int label_columns = 0;
  for (const std::string& label : labels)
    label_columns = std::max(label_columns, DisplayColumns(label));
  const int bar_columns = std::max(args.width - label_columns - 4 - kValueColumns, 8);
  const double full = c.at_infinity > 0 ? c.at_infinity : 1;
  std::string text = "H(softmax(z / T)) in nats for z = " + RowText(args.logits) + "\n" +
                     ZeroLimitText(c) + "\n" + InfinityLimitText(c) + "\n\n";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    text += PadRight(labels[i], label_columns) + "  " + Bar(h[i] / full, bar_columns) + "  " +
            Fixed(h[i], 4) + "\n";
  }
  return text;
}

}  // namespace

std::string PlotEntropy(const PlotArgs& args) {
  const Curve curve = Compute(args);
  return args.term ? TermPlot(args, curve) : SvgPlot(args, curve);
}

}  // namespace smx_cli
