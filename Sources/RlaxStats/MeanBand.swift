/// The mean learning curve over seeds with a 95% confidence band, for plotting one arm of a
/// comparison: at each step, `mean ± t(0.975, n - 1) * sd / sqrt(n)` over the n seeds, with the
/// sample standard deviation (divisor n - 1) and ``StudentT/criticalValue95(degreesOfFreedom:)``,
/// because with the few seeds RL runs afford the normal's 1.96 would draw the band too narrow.
///
/// Curves of different lengths (a seed that stopped early, or one still running) are cut to the
/// shortest: every step then averages the same seeds, where averaging whichever seeds reached a
/// step would make the mean jump wherever one drops out. One seed gives a zero-width band, since
/// nothing is known about the spread.
public struct MeanBand: Sendable, Equatable {
  /// The number of curves averaged.
  public let seeds: Int
  /// The mean at each step of the common prefix.
  public let mean: [Double]
  /// The lower edge of the band at each step.
  public let lower: [Double]
  /// The upper edge of the band at each step.
  public let upper: [Double]

  /// The band over `curves`, one per seed, each a value per step.
  ///
  /// - Throws: ``StatsInputError`` when there are no curves, a curve has no steps, or a value is
  ///   not finite.
  public init(curves: [[Double]]) throws {
    try Validate.table(curves, "curves", rowUnit: "curve", columnUnit: "step")
    let n = curves.count
    let steps = curves.map(\.count).reduce(Int.max, min)
    var mean: [Double] = [], lower: [Double] = [], upper: [Double] = []
    for step in 0..<steps {
      let values = curves.map { $0[step] }
      let center = values.reduce(0, +) / Double(n)
      var halfWidth = 0.0
      if n > 1 {
        let sd = (values.reduce(0) { $0 + ($1 - center) * ($1 - center) } / Double(n - 1)).squareRoot()
        halfWidth = StudentT.criticalValue95(degreesOfFreedom: n - 1) * sd / Double(n).squareRoot()
      }
      mean.append(center)
      lower.append(center - halfWidth)
      upper.append(center + halfWidth)
    }
    self.seeds = n
    self.mean = mean
    self.lower = lower
    self.upper = upper
  }
}
