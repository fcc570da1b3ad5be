// smx plot temperature: softmax(z / T) at each temperature, as bars, with the entropy of each
// distribution: a low T sharpens towards the argmax, a high T flattens towards uniform.
#include <algorithm>
#include <cmath>

#include "plot.h"
#include "plot_chart.h"
#include "term_bars.h"

namespace smx_cli {
namespace {

constexpr const char* kBarColour = "#4c78a8";
constexpr double kSlot = 48;  // canvas units per class: room for "0.8438" over its bar
constexpr double kPlotHeight = 180;
constexpr double kMarginLeft = 56, kMarginRight = 16, kMarginTop = 62, kMarginBottom = 48;
constexpr double kHeader = 64;      // the document's title and subtitle
constexpr double kRowWidth = 1040;  // panels per row: as many as fit in this width
constexpr int kValueColumns = 6;    // "0.8438"

struct Panel {
  double temperature;
  std::vector<double> p;
  double entropy;
};

std::vector<Panel> Compute(const PlotArgs& args) {
  std::vector<Panel> panels;
  for (const double t : args.temperatures) {
    panels.push_back({t, SoftmaxOf(args.logits, t), EntropyOf(args.logits, t)});
  }
  return panels;
}

std::string EntropyText(double entropy) { return "H = " + Fixed(entropy, 4) + " nats"; }

// Class labels under the bars: the logits, which name the classes better than their indices.
void DrawClassAxis(Svg& svg, const Chart& chart, std::span<const double> z) {
  svg.Line(chart.left, chart.bottom(), chart.right(), chart.bottom(),
           {{"class", "axis"}, {"stroke", "#222222"}});
  for (std::size_t i = 0; i < z.size(); ++i) {
    svg.Text(chart.X(i + 0.5), chart.bottom() + 18, Compact(z[i]),
             {{"class", "class-label"}, {"text-anchor", "middle"}});
  }
  svg.Text(chart.left + chart.width / 2, chart.bottom() + 38, "logit z_i",
           {{"class", "axis-label"}, {"text-anchor", "middle"}});
}

void DrawBars(Svg& svg, const Chart& chart, std::span<const double> z, const Panel& panel) {
  const double slot = chart.width / static_cast<double>(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double p = panel.p[i], top = chart.Y(p), centre = chart.X(i + 0.5);
    const std::string tooltip =
        Indexed("z", i) + " = " + Short(z[i]) + ": " + Indexed("p", i) + " = " + Short(p);
    svg.Rect(centre - 0.35 * slot, top, 0.7 * slot, chart.bottom() - top,
             {{"class", "bar"}, {"data-class", std::to_string(i)}, {"fill", kBarColour}}, tooltip);
    svg.Text(centre, top - 4, Fixed(p, 4),
             {{"class", "value"}, {"text-anchor", "middle"}, {"font-size", "11"}});
  }
}

void DrawPanel(Svg& svg, double x, double y, double plot_width, std::span<const double> z,
               const Panel& panel) {
  svg.BeginGroup({{"class", "panel"}, {"data-temperature", Short(panel.temperature)}});
  svg.Text(x + kMarginLeft, y + 18, TemperatureText(panel.temperature),
           {{"class", "panel-title"}, {"font-weight", "bold"}});
  svg.Text(x + kMarginLeft, y + 36, EntropyText(panel.entropy), {{"class", "panel-entropy"}});
  // x counts classes: class i's bar stands over [i, i + 1].
  const Chart chart{.left = x + kMarginLeft,
                    .top = y + kMarginTop,
                    .width = plot_width,
                    .height = kPlotHeight,
                    .x_min = 0,
                    .x_max = static_cast<double>(z.size()),
                    .y_min = 0,
                    .y_max = 1};
  DrawYAxis(svg, chart, LinearTicks(0, 1, 5), "probability p_i");
  DrawClassAxis(svg, chart, z);
  DrawBars(svg, chart, z, panel);
  svg.EndGroup();
}

std::string SvgPlot(const PlotArgs& args, const std::vector<Panel>& panels) {
  const double plot_width = std::max(static_cast<double>(args.logits.size()) * kSlot, 168.0);
  const double panel_width = kMarginLeft + plot_width + kMarginRight;
  const double panel_height = kMarginTop + kPlotHeight + kMarginBottom;
  const std::size_t columns =
      std::clamp<std::size_t>(static_cast<std::size_t>(kRowWidth / panel_width), 1, panels.size());
  const std::size_t rows = (panels.size() + columns - 1) / columns;
  const double width = std::max(16 + static_cast<double>(columns) * panel_width, 560.0);
  Svg svg(width, kHeader + static_cast<double>(rows) * panel_height + 8,
          "softmax(z / T) for z = " + RowText(args.logits));
  DrawTitle(svg, 16, 24, "softmax(z / T) for z = " + RowText(args.logits),
            "one panel per temperature T; H = −Σ p_i log p_i, the entropy in nats");
  for (std::size_t i = 0; i < panels.size(); ++i) {
    DrawPanel(svg, 8 + static_cast<double>(i % columns) * panel_width,
              kHeader + static_cast<double>(i / columns) * panel_height, plot_width, args.logits,
              panels[i]);
  }
  return svg.Finish();
}

// "T = 1   H = 0.5243 nats", then a line per class: "z = 3  ████████▍  0.8438".
std::string TermPlot(const PlotArgs& args, const std::vector<Panel>& panels) {
  std::vector<std::string> labels;
  int label_columns = 0;
  for (const double z : args.logits) {
    labels.push_back("z = " + Short(z));
    label_columns = std::max(label_columns, DisplayColumns(labels.back()));
  }
  const int bar_columns = std::max(args.width - label_columns - 4 - kValueColumns, 8);
  std::string text = "softmax(z / T) for z = " + RowText(args.logits) + "\n";
  for (const Panel& panel : panels) {
    text += '\n';
    text += TemperatureText(panel.temperature) + "   " + EntropyText(panel.entropy) + "\n";
    for (std::size_t i = 0; i < labels.size(); ++i) {
      text += PadRight(labels[i], label_columns) + "  " + Bar(panel.p[i], bar_columns) + "  " +
              Fixed(panel.p[i], 4) + "\n";
    }
  }
  return text;
}

}  // namespace

std::string PlotTemperature(const PlotArgs& args) {
  const std::vector<Panel> panels = Compute(args);
  return args.term ? TermPlot(args, panels) : SvgPlot(args, panels);
}

}  // namespace smx_cli
