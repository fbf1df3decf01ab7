/// A point estimate with a confidence interval around it.
public struct Interval: Sendable, Equatable {
  /// The statistic on the data as given (not a bootstrap average).
  public let estimate: Double
  /// The lower end of the interval.
  public let lower: Double
  /// The upper end of the interval.
  public let upper: Double
  /// The nominal coverage, e.g. 0.95.
  public let level: Double

  /// Creates an interval; see the properties.
  public init(estimate: Double, lower: Double, upper: Double, level: Double) {
    self.estimate = estimate
    self.lower = lower
    self.upper = upper
    self.level = level
  }
}
