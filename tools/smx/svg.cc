#include "svg.h"

#include <cmath>
#include <cstdio>

namespace smx_cli {
namespace {

// ` name="value"` for each geometry value, in order.
std::string Geometry(std::initializer_list<std::pair<const char*, double>> values) {
  std::string text;
  for (const auto& [name, value] : values) {
    text += ' ';
    text += name;
    text += "=\"" + SvgNumber(value) + '"';
  }
  return text;
}

}  // namespace

std::string EscapeXml(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string SvgNumber(double value) {
  if (!std::isfinite(value)) return "0";  // never reached by a correct chart; keeps the XML valid
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string text = buffer;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

Svg::Svg(double width, double height, std::string_view title) {
  const std::string w = SvgNumber(width), h = SvgNumber(height);
  out_ =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"" +
      w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
      "\" font-family=\"sans-serif\" font-size=\"12\">\n  <title>" + EscapeXml(title) +
      "</title>\n";
  // White, so that the chart stays readable where a browser shows a dark page.
  Rect(0, 0, width, height, {{"class", "background"}, {"fill", "white"}});
}

void Svg::Indent() { out_.append(2 * static_cast<std::size_t>(depth_), ' '); }

void Svg::Open(std::string_view tag, const std::string& geometry, SvgAttributes attributes) {
  Indent();
  out_ += '<';
  out_ += tag;
  out_ += geometry;
  for (const auto& [name, value] : attributes) {
    out_ += ' ';
    out_ += name;
    out_ += "=\"" + EscapeXml(value) + '"';
  }
}

void Svg::BeginGroup(SvgAttributes attributes) {
  Open("g", "", attributes);
  out_ += ">\n";
  ++depth_;
}

void Svg::EndGroup() {
  if (depth_ <= 1) return;
  --depth_;
  Indent();
  out_ += "</g>\n";
}

void Svg::Rect(double x, double y, double width, double height, SvgAttributes attributes,
               std::string_view tooltip) {
  Open("rect", Geometry({{"x", x}, {"y", y}, {"width", width}, {"height", height}}), attributes);
  out_ += tooltip.empty() ? "/>\n" : "><title>" + EscapeXml(tooltip) + "</title></rect>\n";
}

void Svg::Line(double x1, double y1, double x2, double y2, SvgAttributes attributes) {
  Open("line", Geometry({{"x1", x1}, {"y1", y1}, {"x2", x2}, {"y2", y2}}), attributes);
  out_ += "/>\n";
}

void Svg::Polyline(std::span<const Point> points, SvgAttributes attributes) {
  std::string list;
  for (const Point& point : points) {
    if (!list.empty()) list += ' ';
    list += SvgNumber(point.x) + ',' + SvgNumber(point.y);
  }
  Open("polyline", " points=\"" + list + '"', attributes);
  out_ += " fill=\"none\"/>\n";
}

void Svg::Text(double x, double y, std::string_view text, SvgAttributes attributes) {
  Open("text", Geometry({{"x", x}, {"y", y}}), attributes);
  out_ += '>' + EscapeXml(text) + "</text>\n";
}

std::string Svg::Finish() {
  while (depth_ > 1) EndGroup();
  out_ += "</svg>\n";
  return std::move(out_);
}

}  // namespace smx_cli
