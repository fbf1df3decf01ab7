/// Counts in equal bins over [0, 1] as an inline SVG bar chart (curation's pass rates).
struct HistogramChart {
  var title: String
  var xLabel: String
  var counts: [Int]
  /// The band kept, drawn shaded, if any.
  var band: (Double, Double)?
  var width = 520.0
  var height = 260.0

  func svg() -> String {
    let left = 50.0, right = width - 20, top = 28.0, bottom = height - 42
    let xs = ChartScale(values: [0, 1], from: left, to: right)
    let ys = ChartScale(values: counts.map(Double.init) + [0], from: bottom, to: top)
    var out = #"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))">"#
    out += "<title>\(xmlEscaped(title))</title>"
    out += #"<text x="\#(svgNumber(left))" y="16" class="chart-title">\#(xmlEscaped(title))</text>"#
    if let (lo, hi) = band {
      out += #"<rect x="\#(svgNumber(xs(lo)))" y="\#(svgNumber(top))" width="\#(svgNumber(xs(hi) - xs(lo)))" height="\#(svgNumber(bottom - top))" fill="\#(chartPalette[2])" fill-opacity="0.12"/>"#
    }
    for t in ys.ticks {
      out += #"<line x1="\#(svgNumber(left))" x2="\#(svgNumber(right))" y1="\#(svgNumber(ys(t)))" y2="\#(svgNumber(ys(t)))" class="grid"/>"#
      out += #"<text x="\#(svgNumber(left - 6))" y="\#(svgNumber(ys(t) + 4))" text-anchor="end" class="tick">\#(ys.label(t))</text>"#
    }
    let binWidth = 1.0 / Double(max(counts.count, 1))
    for (i, c) in counts.enumerated() {
      let x0 = xs(Double(i) * binWidth) + 1, x1 = xs(Double(i + 1) * binWidth) - 1
      out += #"<rect x="\#(svgNumber(x0))" y="\#(svgNumber(ys(Double(c))))" width="\#(svgNumber(x1 - x0))" height="\#(svgNumber(bottom - ys(Double(c))))" fill="\#(chartPalette[0])"><title>\#(c)</title></rect>"#
    }
    for t in xs.ticks {
      out += #"<text x="\#(svgNumber(xs(t)))" y="\#(svgNumber(bottom + 16))" text-anchor="middle" class="tick">\#(xs.label(t))</text>"#
    }
    out += #"<line x1="\#(svgNumber(left))" x2="\#(svgNumber(right))" y1="\#(svgNumber(bottom))" y2="\#(svgNumber(bottom))" class="axis"/>"#
    out += #"<text x="\#(svgNumber((left + right) / 2))" y="\#(svgNumber(height - 6))" text-anchor="middle" class="label">\#(xmlEscaped(xLabel))</text>"#
    return out + "</svg>"
  }
}
