#!/usr/bin/env python3
"""Checks the SVG of `smx plot` for cli_test.sh (cases_plot.sh), standard library only.

Each check parses the file as XML (a malformed file fails here), then finds the plot's elements
by their class and compares what they print with the values given, which the tests take from
other smx commands (smx softmax, smx entropy, smx jacobian) or from the mathematics itself.
Prints nothing and exits 0 when the check holds, else prints why and exits 1.

  svg_check.py temperature SVG TEMPS ENTROPIES PROBS  comma lists; PROBS is K per temperature
  svg_check.py jacobian SVG TITLE J...                J row by row (K*K values)
  svg_check.py sigmoid SVG POINTS                     two coinciding curves of POINTS points
  svg_check.py entropy SVG M K                        limit lines at log M and log K
"""
import math
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def parse(path):
    root = ET.parse(path).getroot()
    expect(root.tag == NS + "svg", "the root is %r, not an SVG <svg>" % root.tag)
    for attribute in ("width", "height", "viewBox"):
        expect(root.get(attribute), "<svg> has no %s" % attribute)
    expect(root.get("font-family") == "sans-serif", "<svg> has no sans-serif font")
    expect(root.find(NS + "title") is not None and root.find(NS + "title").text,
           "<svg> has no <title>")
    return root


def classes(element):
    return (element.get("class") or "").split()


def find(root, tag, name):
    """Every <tag> under root with `name` among its classes, in document order."""
    return [e for e in root.iter(NS + tag) if name in classes(e)]


def texts(root, name):
    return [e.text or "" for e in find(root, "text", name)]


def numbers(text):
    return [float(x) for x in text.split(",")]


def check_temperature(root, temps, entropies, probs):
    temps = temps.split(",")
    entropies, probs = numbers(entropies), numbers(probs)
    k = len(probs) // len(temps)
    panels = find(root, "g", "panel")
    expect(len(panels) == len(temps), "%d panels for %d temperatures" % (len(panels), len(temps)))
    expect(len(find(root, "rect", "bar")) == k * len(temps),
           "%d bars, want K x temperatures = %d" % (len(find(root, "rect", "bar")), k * len(temps)))
    for i, panel in enumerate(panels):
        expect(panel.get("data-temperature") == temps[i],
               "panel %d is T = %s, want %s" % (i, panel.get("data-temperature"), temps[i]))
        bars = find(panel, "rect", "bar")
        expect(len(bars) == k, "panel %d has %d bars, want %d" % (i, len(bars), k))
        heights = [float(b.get("height")) for b in bars]
        want = ["%.4f" % p for p in probs[i * k:(i + 1) * k]]
        got = texts(panel, "value")
        expect(got == want, "panel %d prints %s, want %s" % (i, got, want))
        scales = [h / p for h, p in zip(heights, probs[i * k:(i + 1) * k]) if p > 1e-3]
        expect(max(scales) - min(scales) < 0.01 * max(scales),  # each bar's height is its p
               "panel %d: bar heights %s are not proportional to %s" % (i, heights, want))
        expect(len(texts(panel, "class-label")) == k, "panel %d lacks its class labels" % i)
        title = " ".join(texts(panel, "panel-title"))
        expect(title.startswith("T"), "panel %d title %r names no temperature" % (i, title))
        entropy = "H = %.4f nats" % entropies[i]
        expect(entropy in texts(panel, "panel-entropy"),
               "panel %d: no %r in %s" % (i, entropy, texts(panel, "panel-entropy")))
    labels = texts(root, "axis-label")
    expect("probability p_i" in labels and "logit z_i" in labels, "axis labels: %s" % labels)
    expect(texts(root, "tick-label")[:6] == ["0", "0.2", "0.4", "0.6", "0.8", "1"],
           "the y axis is not labelled 0 to 1: %s" % texts(root, "tick-label")[:6])


def check_jacobian(root, title, *values):
    values = [float(v) for v in values]
    k = math.isqrt(len(values))
    cells = find(root, "rect", "cell")
    expect(len(cells) == k * k, "%d cells, want K*K = %d" % (len(cells), k * k))
    for n, cell in enumerate(cells):
        expect((cell.get("data-row"), cell.get("data-column")) == (str(n // k), str(n % k)),
               "cell %d is at row %s, column %s" % (n, cell.get("data-row"),
                                                    cell.get("data-column")))
    got, want = texts(root, "cell-value"), ["%.4f" % (v + 0.0) for v in values]  # no -0
    expect(got == want, "the cells print %s, want %s" % (got, want))
    # Diverging colours: red where J > 0, blue where J < 0 (the larger channel tells).
    for cell, v in zip(cells, values):
        r, b = int(cell.get("fill")[1:3], 16), int(cell.get("fill")[5:7], 16)
        expect((r >= b) if v > 0 else (b >= r),
               "cell %s of value %g has colour %s" % (cell.get("data-row"), v, cell.get("fill")))
    expect(len(texts(root, "row-label")) == k and len(texts(root, "column-label")) == k,
           "row or column labels missing")
    expect(title in texts(root, "title"), "no title %r in %s" % (title, texts(root, "title")))


def curve(root, name):
    lines = [e for e in find(root, "polyline", "curve") if name in classes(e)]
    expect(len(lines) == 1, "%d polylines of class 'curve %s'" % (len(lines), name))
    return [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]


def check_sigmoid(root, points):
    softmax, sigmoid = curve(root, "softmax"), curve(root, "sigmoid")
    expect(len(softmax) == len(sigmoid) == int(points),
           "%d and %d points, want %s" % (len(softmax), len(sigmoid), points))
    gap = max(math.dist(a, b) for a, b in zip(softmax, sigmoid))
    expect(gap < 0.01, "the curves do not coincide: %g apart" % gap)
    ys = [y for _, y in softmax]
    expect(all(a >= b for a, b in zip(ys, ys[1:])) and ys[0] - ys[-1] > 250,
           "the curve does not rise from 0 to 1")
    difference = find(root, "text", "max-difference")
    expect(len(difference) == 1 and float(difference[0].get("data-value")) < 1e-15,
           "max |difference| missing or not tiny")
    expect(any("stroke-dasharray" in e.attrib for e in find(root, "polyline", "sigmoid")),
           "the sigmoid curve is not dashed")
    legend = " ".join(texts(root, "legend-label"))
    expect("smx::softmax" in legend and "smx::sigmoid" in legend, "legend: %r" % legend)
    expect("z₁ − z₂" in texts(root, "axis-label"), "no z₁ − z₂ axis label")


def check_entropy(root, m, k):
    lines = {e.get("data-limit"): e for e in find(root, "line", "reference")}
    expect(set(lines) == {"0", "inf"}, "reference lines %s, want 0 and inf" % sorted(lines))
    for limit, n in (("0", int(m)), ("inf", int(k))):
        value = float(lines[limit].get("data-value"))
        expect(abs(value - math.log(n)) <= 1e-12 * max(1, math.log(n)),
               "the T -> %s line is at %r, want log %d = %r" % (limit, value, n, math.log(n)))
    labels = " ".join(texts(root, "reference-label"))
    for n in (m, k):
        expect("log " + n in labels, "no 'log %s' in the labels: %r" % (n, labels))
    points = curve(root, "entropy")
    ys = [y for _, y in points]
    expect(all(a >= b - 1e-9 for a, b in zip(ys, ys[1:])), "H does not rise with T")
    for (x, y), limit in ((points[0], "0"), (points[-1], "inf")):  # the ends near their limits
        line_y = float(lines[limit].get("y1"))
        expect(abs(y - line_y) < 3, "the curve ends at y %g, its limit line is at %g" % (y, line_y))
    axis = texts(root, "axis-label")
    expect("temperature T (log scale)" in axis and "entropy H (nats)" in axis, "axes: %s" % axis)


def main():
    kind, path = sys.argv[1], sys.argv[2]
    try:
        root = parse(path)
        {"temperature": check_temperature, "jacobian": check_jacobian, "sigmoid": check_sigmoid,
         "entropy": check_entropy}[kind](root, *sys.argv[3:])
    except (CheckFailed, ET.ParseError, ValueError, TypeError) as error:
        print("%s: %s" % (path, error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
