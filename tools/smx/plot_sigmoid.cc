// smx plot sigmoid: with two classes softmax is the logistic sigmoid of the difference of the
// logits, softmax([z1, z2])_1 = 1 / (1 + exp(-(z1 - z2))) = σ(z1 - z2). Both curves are computed
// by the library (softmax on [d, 0], sigmoid on d) and drawn over each other; they coincide.
#include <algorithm>
#include <cmath>

#include "plot.h"
#include "plot_chart.h"
#include "term_bars.h"

namespace smx_cli {
namespace {

constexpr int kIntervals = 240;   // 241 samples of z1 - z2
constexpr int kTermEvery = 20;    // --term shows every 20th: 13 rows
constexpr int kValueColumns = 6;  // "0.8438"

struct Curves {
  std::vector<double> d;        // z1 - z2
  std::vector<double> softmax;  // softmax([d, 0])_1
  std::vector<double> sigmoid;  // σ(d)
  double max_difference = 0;
};

Curves Compute(const PlotArgs& args) {
  Curves c;
  std::vector<double> rows;  // [d, 0] per sample: z2 = 0, as a shift of both changes nothing
  for (int i = 0; i <= kIntervals; ++i) {
    c.d.push_back(args.range_min + (args.range_max - args.range_min) * i / kIntervals);
    rows.insert(rows.end(), {c.d.back(), 0.0});
  }
  const std::vector<double> p = SoftmaxRowsOf(rows, 2);
  c.sigmoid = SigmoidOf(c.d);
  for (std::size_t i = 0; i < c.d.size(); ++i) {
    c.softmax.push_back(p[2 * i]);
    c.max_difference = std::max(c.max_difference, std::fabs(p[2 * i] - c.sigmoid[i]));
  }
  return c;
}

std::string Samples(const PlotArgs& args) {
  return std::to_string(kIntervals + 1) + " points of z₁ − z₂ in [" + Compact(args.range_min) +
         ", " + Compact(args.range_max) + "]";
}

std::vector<Point> Points(const Chart& chart, const std::vector<double>& x,
                          const std::vector<double>& y) {
  std::vector<Point> points;
  for (std::size_t i = 0; i < x.size(); ++i) points.push_back({chart.X(x[i]), chart.Y(y[i])});
  return points;
}

void DrawLegend(Svg& svg, const Chart& chart, double max_difference) {
  const double x = chart.left + 12, y = chart.top + 12;
  svg.BeginGroup({{"class", "legend"}});
  svg.Rect(x, y, 268, 70, {{"fill", "white"}, {"stroke", "#bbbbbb"}});
  svg.Line(x + 10, y + 18, x + 40, y + 18, {{"stroke", "#4c78a8"}, {"stroke-width", "4"}});
  svg.Text(x + 48, y + 22, "softmax([z₁, z₂])₁  (smx::softmax)", {{"class", "legend-label"}});
  svg.Line(x + 10, y + 38, x + 40, y + 38,
           {{"stroke", "#f58518"}, {"stroke-width", "2"}, {"stroke-dasharray", "7 5"}});
  svg.Text(x + 48, y + 42, "σ(z₁ − z₂)  (smx::sigmoid)", {{"class", "legend-label"}});
  svg.Text(x + 10, y + 60, "max |difference| = " + Compact(max_difference),
           {{"class", "max-difference"}, {"data-value", Short(max_difference)}});
  svg.EndGroup();
}

std::string SvgPlot(const PlotArgs& args, const Curves& c) {
  Svg svg(680, 440, "softmax([z1, z2])_1 = sigmoid(z1 - z2)");
  DrawTitle(svg, 16, 24, "Two classes: softmax([z₁, z₂])₁ = σ(z₁ − z₂)",
            Samples(args) + ", with z₂ = 0 (shifting both logits changes nothing)");
  const Chart chart{.left = 72,
                    .top = 64,
                    .width = 576,
                    .height = 300,
                    .x_min = args.range_min,
                    .x_max = args.range_max,
                    .y_min = 0,
                    .y_max = 1};
  DrawXAxis(svg, chart, LinearTicks(args.range_min, args.range_max, 6), "z₁ − z₂");
  DrawYAxis(svg, chart, LinearTicks(0, 1, 5), "probability of class 1");
  // The solid curve is wide and the dashed one narrow, so that both show where they coincide.
  svg.Polyline(Points(chart, c.d, c.softmax),
               {{"class", "curve softmax"}, {"stroke", "#4c78a8"}, {"stroke-width", "4"}});
  svg.Polyline(Points(chart, c.d, c.sigmoid), {{"class", "curve sigmoid"},
                                               {"stroke", "#f58518"},
                                               {"stroke-width", "2"},
                                               {"stroke-dasharray", "7 5"}});
  DrawLegend(svg, chart, c.max_difference);
  return svg.Finish();
}

// A row per 20th sample: "z₁ − z₂ = -6  ▏  0.0025  σ = 0.0025".
std::string TermPlot(const PlotArgs& args, const Curves& c) {
  std::vector<std::string> labels;
  int label_columns = 0;
  for (std::size_t i = 0; i < c.d.size(); i += kTermEvery) {
    labels.push_back("z₁ − z₂ = " + Compact(c.d[i]));
    label_columns = std::max(label_columns, DisplayColumns(labels.back()));
  }
  const int bar_columns = std::max(args.width - label_columns - 4 - kValueColumns - 12, 8);
  std::string text = "softmax([z₁, z₂])₁ (bars) beside σ(z₁ − z₂), with z₂ = 0\n" +
                     std::string("max |difference| over ") + Samples(args) + ": " +
                     Compact(c.max_difference) + "\n\n";
  for (std::size_t row = 0; row < labels.size(); ++row) {
    const std::size_t i = row * kTermEvery;
    text += PadRight(labels[row], label_columns) + "  " + Bar(c.softmax[i], bar_columns) + "  " +
            Fixed(c.softmax[i], 4) + "  σ = " + Fixed(c.sigmoid[i], 4) + "\n";
  }
  return text;
}

}  // namespace

std::string PlotSigmoid(const PlotArgs& args) {
  const Curves curves = Compute(args);
  return args.term ? TermPlot(args, curves) : SvgPlot(args, curves);
}

}  // namespace smx_cli
