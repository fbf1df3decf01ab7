import Foundation

/// A linear map from data values to SVG coordinates, with "nice" tick values (1, 2 or 5
/// times a power of ten) covering the data range.
struct ChartScale {
  let lower: Double
  let upper: Double
  let from: Double
  let to: Double

  /// A scale over `values` (padded to a nice range) onto `from...to`; `includeZero` keeps 0
  /// in view (for differences and rates).
  init(values: [Double], from: Double, to: Double, includeZero: Bool = false) {
    var lo = values.filter(\.isFinite).min() ?? 0, hi = values.filter(\.isFinite).max() ?? 1
    if includeZero { lo = min(lo, 0); hi = max(hi, 0) }
    if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
    let step = Self.tickStep(hi - lo)
    self.lower = (lo / step).rounded(.down) * step
    self.upper = (hi / step).rounded(.up) * step
    self.from = from
    self.to = to
  }

  func callAsFunction(_ v: Double) -> Double { from + (v - lower) / (upper - lower) * (to - from) }

  var ticks: [Double] {
    let step = Self.tickStep(upper - lower)
    return stride(from: lower, through: upper + step * 1e-9, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
  }

  /// About five ticks across `span`.
  static func tickStep(_ span: Double) -> Double {
    let raw = span / 5
    let power = pow(10, (log10(raw)).rounded(.down))
    for m in [1.0, 2, 5, 10] where m * power >= raw { return m * power }
    return 10 * power
  }

  /// A tick label: as few decimals as the step needs.
  func label(_ v: Double) -> String {
    let step = Self.tickStep(upper - lower)
    let decimals = max(0, Int(-(log10(step)).rounded(.down)))
    if abs(v) >= 10_000 { return String(format: "%.0fk", v / 1000) }
    return String(format: "%.\(decimals)f", v)
  }
}

/// Escapes text for SVG/XML content and attributes.
func xmlEscaped(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

/// Colours for arms, in order (Okabe-Ito, readable by colour-blind readers), then repeating.
let chartPalette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999", "#882255", "#44AA99"]

func svgNumber(_ v: Double) -> String { String(format: "%.1f", v) }
