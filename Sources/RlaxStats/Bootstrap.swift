/// Percentile bootstrap intervals for a mean over a two-level design, `data[seed][problem]`:
/// each training seed of an arm is evaluated on the held-out problems, and the numbers to
/// interval are means over both (e.g. the mean per-problem pass@k of an arm).
///
/// Both levels vary from one experiment to the next: another seed trains another policy, and
/// another draw of held-out problems asks other questions. So each resample is two-stage: draw
/// as many seeds as there are, with replacement, and within each drawn seed draw as many of its
/// problems as it has, with replacement; the statistic is the mean of all drawn values. Resampling
/// problems alone would ignore seed-to-seed variation, which with few seeds is usually the larger
/// part. Resampling at both levels errs the other way, but mildly: a seed's mean already varies
/// with its problems, so the seed stage carries the within-seed variance and the problem stage
/// adds it again, which makes intervals somewhat conservative rather than too narrow (Davison &
/// Hinkley 1997, "Bootstrap Methods and their Application", §3.8).
///
/// The interval is the percentile interval: the `(1 - level) / 2` and `(1 + level) / 2` quantiles
/// of the resampled means, interpolated linearly between order statistics. Given the same seed the
/// result is the same on every machine (see ``SeededGenerator``).
public enum Bootstrap {
  /// The mean of all values in `data[seed][problem]`, with a two-stage percentile interval.
  /// Seeds may have different numbers of problems; every value weighs the same in the mean.
  ///
  /// - Throws: ``StatsInputError`` when `data` or one of its seeds is empty, a value is not finite,
  ///   `level` is not strictly between 0 and 1, or `resamples` is less than 1.
  public static func meanInterval(
    _ data: [[Double]], level: Double = 0.95, resamples: Int = 10_000, seed: UInt64
  ) throws -> Interval {
    try Validate.table(data, "data", rowUnit: "seed", columnUnit: "problem")
    try Validate.level(level)
    try Validate.resamples(resamples)
    return percentileInterval(data, level: level, resamples: resamples, seed: seed)
  }

  /// `mean(a) - mean(b)` for two arms evaluated on the same seeds and problems, with a paired
  /// two-stage percentile interval: each resample draws the same seed and problem indices for both
  /// arms, so what they share (a hard problem, a lucky seed) cancels instead of widening the
  /// interval. Because the draws are shared, this is the bootstrap of the per-item differences
  /// `a[s][p] - b[s][p]`, and identical arms give exactly `[0, 0]`.
  ///
  /// - Throws: ``StatsInputError`` for what ``meanInterval(_:level:resamples:seed:)`` rejects in
  ///   either arm, and when `b` does not have the same number of seeds, or of problems in a seed,
  ///   as `a`.
  public static func pairedDifferenceInterval(
    a: [[Double]], b: [[Double]], level: Double = 0.95, resamples: Int = 10_000, seed: UInt64
  ) throws -> Interval {
    try Validate.table(a, "a", rowUnit: "seed", columnUnit: "problem")
    try Validate.table(b, "b", rowUnit: "seed", columnUnit: "problem")
    if b.count != a.count {
      throw StatsInputError(subject: "b", expected: "\(a.count) seeds (as in a)", found: "\(b.count)")
    }
    for (index, (rowA, rowB)) in zip(a, b).enumerated() where rowB.count != rowA.count {
      throw StatsInputError(subject: "b[\(index)]", expected: "\(rowA.count) problems (as in a[\(index)])", found: "\(rowB.count)")
    }
    try Validate.level(level)
    try Validate.resamples(resamples)
    let differences = zip(a, b).map { rowA, rowB in zip(rowA, rowB).map { $0 - $1 } }
    return percentileInterval(differences, level: level, resamples: resamples, seed: seed)
  }

  /// The two-stage resampling shared by both intervals, on validated input.
  private static func percentileInterval(_ data: [[Double]], level: Double, resamples: Int, seed: UInt64) -> Interval {
    var generator = SeededGenerator(seed: seed)
    var means: [Double] = []
    means.reserveCapacity(resamples)
    for _ in 0..<resamples {
      var sum = 0.0
      var count = 0
      for _ in data.indices {
        let row = data[generator.next(below: data.count)]
        for _ in row.indices { sum += row[generator.next(below: row.count)] }
        count += row.count
      }
      means.append(sum / Double(count))
    }
    means.sort()
    let tail = (1 - level) / 2
    let all = data.joined()
    return Interval(
      estimate: all.reduce(0, +) / Double(all.count),
      lower: quantile(sorted: means, tail),
      upper: quantile(sorted: means, 1 - tail),
      level: level)
  }

  /// The `q` quantile of sorted values, interpolating linearly between the order statistics on
  /// either side of position `q * (count - 1)` (Hyndman & Fan's type 7, R's default).
  private static func quantile(sorted values: [Double], _ q: Double) -> Double {
    let position = q * Double(values.count - 1)
    let below = Int(position.rounded(.down))
    let above = min(below + 1, values.count - 1)
    return values[below] + (position - Double(below)) * (values[above] - values[below])
  }
}
