/// Paired differences against a baseline as an inline SVG: one row per arm, a dot at the
/// difference and a whisker over its interval, a line at zero; filled dots are significant.
struct IntervalChart {
  struct Row {
    var label: String
    var value: Double
    var lower: Double
    var upper: Double
    var significant: Bool
  }

  var title: String
  var xLabel: String
  var rows: [Row]
  var width = 520.0

  func svg() -> String {
    let rowHeight = 22.0, left = 130.0, right = width - 20, top = 30.0
    let height = top + Double(rows.count) * rowHeight + 44
    let bottom = top + Double(rows.count) * rowHeight
    let xs = ChartScale(values: rows.flatMap { [$0.lower, $0.upper, $0.value] }, from: left, to: right, includeZero: true)
    var out = #"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))">"#
    out += "<title>\(xmlEscaped(title))</title>"
    out += #"<text x="\#(svgNumber(left))" y="16" class="chart-title">\#(xmlEscaped(title))</text>"#
    for t in xs.ticks {
      out += #"<line x1="\#(svgNumber(xs(t)))" x2="\#(svgNumber(xs(t)))" y1="\#(svgNumber(top))" y2="\#(svgNumber(bottom))" class="grid"/>"#
      out += #"<text x="\#(svgNumber(xs(t)))" y="\#(svgNumber(bottom + 16))" text-anchor="middle" class="tick">\#(xs.label(t))</text>"#
    }
    out += #"<line x1="\#(svgNumber(xs(0)))" x2="\#(svgNumber(xs(0)))" y1="\#(svgNumber(top - 4))" y2="\#(svgNumber(bottom))" class="zero"/>"#
    for (i, r) in rows.enumerated() {
      let y = top + (Double(i) + 0.5) * rowHeight
      let color = chartPalette[(i + 1) % chartPalette.count]
      out += #"<text x="\#(svgNumber(left - 8))" y="\#(svgNumber(y + 4))" text-anchor="end" class="tick">\#(xmlEscaped(r.label))</text>"#
      out += #"<line x1="\#(svgNumber(xs(r.lower)))" x2="\#(svgNumber(xs(r.upper)))" y1="\#(svgNumber(y))" y2="\#(svgNumber(y))" stroke="\#(color)" stroke-width="2"/>"#
      out += #"<circle cx="\#(svgNumber(xs(r.value)))" cy="\#(svgNumber(y))" r="4" stroke="\#(color)" stroke-width="1.5" fill="\#(r.significant ? color : "white")"><title>\#(xmlEscaped(String(format: "%@: %+.3f [%+.3f, %+.3f]", r.label, r.value, r.lower, r.upper)))</title></circle>"#
    }
    out += #"<text x="\#(svgNumber((left + right) / 2))" y="\#(svgNumber(height - 8))" text-anchor="middle" class="label">\#(xmlEscaped(xLabel))</text>"#
    return out + "</svg>"
  }
}
