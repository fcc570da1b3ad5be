// smx plot jacobian: the K x K matrix J = (diag(p) - p p^T) / T of p = softmax(z / T) as a heatmap:
// positive on the diagonal (raising z_i raises p_i), negative off it (and takes from the others),
// each row and column summing to 0 (a shift of every logit changes nothing).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "plot.h"
#include "plot_chart.h"
#include "term_bars.h"

namespace smx_cli {
namespace {

constexpr double kCell = 60;  // room for "-0.1628" inside a cell
constexpr double kLeft = 112, kTop = 112, kLegendWidth = 120, kBottom = 32;
constexpr double kLegendHeight = 160;
constexpr int kLegendSteps = 11;

struct Matrix {
  std::vector<double> p;
  std::vector<double> j;  // K x K, row-major
  double largest;         // max |J[i][j]|: the colour scale's end
};

Matrix Compute(const PlotArgs& args) {
  const double t = args.temperatures.front();
  Matrix m{SoftmaxOf(args.logits, t), JacobianOf(args.logits, t), 0};
  for (const double v : m.j) m.largest = std::max(m.largest, std::fabs(v));
  return m;
}

std::string Title(double temperature) {
  return temperature == 1 ? "J = diag(p) − p pᵀ"
                          : "J = (diag(p) − p pᵀ) / T at T = " + Short(temperature);
}

// Diverging colours: white at 0, deeper red towards +1, deeper blue towards -1, so that the
// sign reads at a glance and the size by the depth.
std::string Colour(double t) {
  const int red[] = {178, 24, 43}, blue[] = {33, 102, 172};
  const int* end = t >= 0 ? red : blue;
  const double depth = std::min(std::fabs(t), 1.0);
  char hex[8];
  int rgb[3];
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<int>(std::lround(255 + (end[c] - 255) * depth));
  std::snprintf(hex, sizeof hex, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return hex;
}

double Scaled(double value, double largest) { return largest > 0 ? value / largest : 0; }

void DrawCell(Svg& svg, double x, double y, std::size_t i, std::size_t j, double value,
              double largest) {
  const double t = Scaled(value, largest);
  const std::string tooltip = std::string("J[") + std::to_string(i) + "][" + std::to_string(j) +
                              "] = ∂" + Indexed("p", i) + "/∂" + Indexed("z", j) + " = " +
                              Short(value);
  svg.Rect(x, y, kCell, kCell,
           {{"class", "cell"},
            {"data-row", std::to_string(i)},
            {"data-column", std::to_string(j)},
            {"fill", Colour(t)},
            {"stroke", "white"}},
           tooltip);
  svg.Text(x + kCell / 2, y + kCell / 2 + 4, Fixed(value, 4),
           {{"class", "cell-value"},
            {"text-anchor", "middle"},
            {"font-size", "11"},
            {"fill", std::fabs(t) > 0.55 ? "white" : "#222222"}});
}

void DrawLabels(Svg& svg, std::span<const double> z, std::span<const double> p) {
  const double size = kCell * static_cast<double>(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double middle = kCell * (static_cast<double>(i) + 0.5);
    svg.Text(kLeft - 8, kTop + middle + 4, Indexed("p", i) + " = " + Fixed(p[i], 4),
             {{"class", "row-label"}, {"text-anchor", "end"}});
    svg.Text(kLeft + middle, kTop - 10, Indexed("z", i) + " = " + Compact(z[i]),
             {{"class", "column-label"}, {"text-anchor", "middle"}, {"font-size", "11"}});
  }
  svg.Text(kLeft + size / 2, kTop - 30, "input z_j (column j)",
           {{"class", "axis-label"}, {"text-anchor", "middle"}});
  const double x = 20, y = kTop + size / 2;
  svg.Text(x, y, "output p_i (row i)",
           {{"class", "axis-label"},
            {"text-anchor", "middle"},
            {"transform", "rotate(-90 " + SvgNumber(x) + " " + SvgNumber(y) + ")"}});
}

// A column of swatches from +largest (top) to -largest, labelled at both ends and at 0.
void DrawLegend(Svg& svg, double x, double largest) {
  svg.BeginGroup({{"class", "legend"}});
  svg.Rect(x - 0.5, kTop - 0.5, 19, kLegendHeight + 1, {{"fill", "none"}, {"stroke", "#bbbbbb"}});
  const double step = kLegendHeight / kLegendSteps;
  for (int s = 0; s < kLegendSteps; ++s) {
    const double t = 1 - 2.0 * s / (kLegendSteps - 1);
    svg.Rect(x, kTop + s * step, 18, step, {{"class", "swatch"}, {"fill", Colour(t)}});
  }
  const Tick labels[] = {{largest, Signed(largest, 4)}, {0, "0"}, {-largest, Fixed(-largest, 4)}};
  for (int k = 0; k < 3; ++k) {
    svg.Text(x + 24, kTop + step * (0.5 + k * (kLegendSteps - 1) / 2.0) + 4, labels[k].label,
             {{"class", "legend-label"}});
  }
  svg.EndGroup();
}

std::string SvgPlot(const PlotArgs& args, const Matrix& m) {
  const std::size_t k = args.logits.size();
  const double size = kCell * static_cast<double>(k);
  const double width = std::max(kLeft + size + kLegendWidth, 640.0);
  Svg svg(width, kTop + std::max(size, kLegendHeight) + kBottom, Title(args.temperatures[0]));
  DrawTitle(svg, 16, 24, Title(args.temperatures[0]),
            "J[i][j] = ∂p_i / ∂z_j of p = softmax(z / T), z = " + RowText(args.logits) +
                ": rows and columns sum to 0");
  DrawLabels(svg, args.logits, m.p);
  svg.BeginGroup({{"class", "heatmap"}});
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      DrawCell(svg, kLeft + kCell * static_cast<double>(j), kTop + kCell * static_cast<double>(i),
               i, j, m.j[i * k + j], m.largest);
    }
  }
  svg.EndGroup();
  DrawLegend(svg, kLeft + size + 24, m.largest);
  return svg.Finish();
}

// The matrix as a table: a row per output p_i, a column per input z_j.
std::string TermPlot(const PlotArgs& args, const Matrix& m) {
  const std::size_t k = args.logits.size();
  std::vector<std::string> rows, columns, cells;
  int row_width = 0, cell_width = 0;
  for (std::size_t i = 0; i < k; ++i) {
    rows.push_back(Indexed("p", i) + " = " + Fixed(m.p[i], 4));
    columns.push_back(Indexed("z", i) + " = " + Short(args.logits[i]));
    row_width = std::max(row_width, DisplayColumns(rows.back()));
    cell_width = std::max(cell_width, DisplayColumns(columns.back()));
  }
  for (const double v : m.j) {
    cells.push_back(v > 0 ? Signed(v, 4) : Fixed(v, 4));
    cell_width = std::max(cell_width, DisplayColumns(cells.back()));
  }
  std::string text = Title(args.temperatures[0]) +
                     ", J[i][j] = ∂p_i/∂z_j, for z = " + RowText(args.logits) + "\n\n" +
                     std::string(row_width, ' ');
  for (const std::string& column : columns) text.append("  ").append(PadLeft(column, cell_width));
  for (std::size_t i = 0; i < k; ++i) {
    text.append("\n").append(PadRight(rows[i], row_width));
    for (std::size_t j = 0; j < k; ++j)
      text.append("  ").append(PadLeft(cells[i * k + j], cell_width));
  }
  return text + "\n";
}

}  // namespace

std::string PlotJacobian(const PlotArgs& args) {
  const Matrix m = Compute(args);
  return args.term ? TermPlot(args, m) : SvgPlot(args, m);
}

}  // namespace smx_cli
