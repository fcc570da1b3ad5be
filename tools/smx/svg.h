// A tiny SVG writer: just what `smx plot` draws, as well-formed XML that any browser shows.
//
//   Svg svg(400, 300, "softmax at T = 1");
//   svg.Rect(10, 20, 30, 40, {{"class", "bar"}, {"fill", "#4c78a8"}});
//   svg.Text(25, 15, "0.8438", {{"class", "value"}, {"text-anchor", "middle"}});
//   std::string document = svg.Finish();
#ifndef SMX_TOOLS_SVG_H_
#define SMX_TOOLS_SVG_H_

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace smx_cli {

// Attribute names and values; values are escaped by the writer.
using SvgAttributes = std::initializer_list<std::pair<std::string_view, std::string>>;

struct Point {
  double x;
  double y;
};

// Escapes &, <, > and " so that `text` reads back as itself in XML content or an attribute.
std::string EscapeXml(std::string_view text);

// A coordinate, compactly: at most 2 decimals and no trailing zeros ("12.5", "100", "-3.25").
std::string SvgNumber(double value);

class Svg {
 public:
  // Starts the document: a width x height canvas (viewBox in the same units) with a white
  // background, sans-serif text, and `title` as its <title>.
  Svg(double width, double height, std::string_view title);

  // <g> ... </g>: groups the elements drawn in between (a panel, a legend).
  void BeginGroup(SvgAttributes attributes);
  void EndGroup();

  // A non-empty `tooltip` becomes the element's <title>, which browsers show on hover.
  void Rect(double x, double y, double width, double height, SvgAttributes attributes,
            std::string_view tooltip = {});
  void Line(double x1, double y1, double x2, double y2, SvgAttributes attributes);
  void Polyline(std::span<const Point> points, SvgAttributes attributes);
  void Text(double x, double y, std::string_view text, SvgAttributes attributes);

  // Closes the open groups and the <svg>; returns the whole document.
  std::string Finish();

 private:
  void Open(std::string_view tag, const std::string& geometry, SvgAttributes attributes);
  void Indent();

  std::string out_;
  int depth_ = 1;  // the nesting of the next element: inside <svg> and its groups
};

}  // namespace smx_cli

#endif  // SMX_TOOLS_SVG_H_
