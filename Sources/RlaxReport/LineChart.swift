/// A line chart as an inline SVG: one line per series, with its confidence band shaded.
struct LineChart {
  struct Series {
    var name: String
    var x: [Double]
    var y: [Double]
    var lower: [Double]?
    var upper: [Double]?
  }

  var title: String
  var xLabel: String
  var yLabel: String
  var series: [Series]
  var markers = false
  var width = 520.0
  var height = 300.0

  func svg() -> String {
    let left = 58.0, right = width - 130, top = 28.0, bottom = height - 42
    let xs = ChartScale(values: series.flatMap(\.x), from: left, to: right)
    // Bands of more than a few series hide each other: then lines only.
    let bands = series.count <= 4
    let ys = ChartScale(values: series.flatMap { $0.y + (bands ? ($0.lower ?? []) + ($0.upper ?? []) : []) }, from: bottom, to: top)
    var out = #"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))">"#
    out += "<title>\(xmlEscaped(title))</title>"
    out += #"<text x="\#(svgNumber(left))" y="16" class="chart-title">\#(xmlEscaped(title))</text>"#
    for t in ys.ticks {
      out += #"<line x1="\#(svgNumber(left))" x2="\#(svgNumber(right))" y1="\#(svgNumber(ys(t)))" y2="\#(svgNumber(ys(t)))" class="grid"/>"#
      out += #"<text x="\#(svgNumber(left - 6))" y="\#(svgNumber(ys(t) + 4))" text-anchor="end" class="tick">\#(ys.label(t))</text>"#
    }
    for t in xs.ticks {
      out += #"<line x1="\#(svgNumber(xs(t)))" x2="\#(svgNumber(xs(t)))" y1="\#(svgNumber(bottom))" y2="\#(svgNumber(bottom + 4))" class="axis"/>"#
      out += #"<text x="\#(svgNumber(xs(t)))" y="\#(svgNumber(bottom + 16))" text-anchor="middle" class="tick">\#(xs.label(t))</text>"#
    }
    out += #"<line x1="\#(svgNumber(left))" x2="\#(svgNumber(right))" y1="\#(svgNumber(bottom))" y2="\#(svgNumber(bottom))" class="axis"/>"#
    out += #"<text x="\#(svgNumber((left + right) / 2))" y="\#(svgNumber(height - 6))" text-anchor="middle" class="label">\#(xmlEscaped(xLabel))</text>"#
    out += #"<text transform="translate(14 \#(svgNumber((top + bottom) / 2))) rotate(-90)" text-anchor="middle" class="label">\#(xmlEscaped(yLabel))</text>"#
    for (i, s) in series.enumerated() {
      let color = chartPalette[i % chartPalette.count]
      if bands, let lower = s.lower, let upper = s.upper, lower.count == s.x.count, upper.count == s.x.count {
        let points = (s.x.indices.map { (xs(s.x[$0]), ys(upper[$0])) } + s.x.indices.reversed().map { (xs(s.x[$0]), ys(lower[$0])) })
          .map { "\(svgNumber($0.0)),\(svgNumber($0.1))" }.joined(separator: " ")
        out += #"<polygon points="\#(points)" fill="\#(color)" fill-opacity="0.15" stroke="none"/>"#
      }
      let line = s.x.indices.map { "\(svgNumber(xs(s.x[$0]))),\(svgNumber(ys(s.y[$0])))" }.joined(separator: " ")
      out += #"<polyline points="\#(line)" fill="none" stroke="\#(color)" stroke-width="1.8" class="series"><title>\#(xmlEscaped(s.name))</title></polyline>"#
      if markers || s.x.count <= 12 {
        for j in s.x.indices { out += #"<circle cx="\#(svgNumber(xs(s.x[j])))" cy="\#(svgNumber(ys(s.y[j])))" r="2.5" fill="\#(color)"/>"# }
      }
      let ly = top + 6 + Double(i) * 16
      out += #"<line x1="\#(svgNumber(right + 12))" x2="\#(svgNumber(right + 28))" y1="\#(svgNumber(ly))" y2="\#(svgNumber(ly))" stroke="\#(color)" stroke-width="3"/>"#
      out += #"<text x="\#(svgNumber(right + 32))" y="\#(svgNumber(ly + 4))" class="legend">\#(xmlEscaped(s.name))</text>"#
    }
    return out + "</svg>"
  }
}
