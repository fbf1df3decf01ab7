/// The paired permutation (sign-flip) test of whether two arms differ in mean, from paired
/// observations such as the same problem evaluated under both, `d_i = a_i - b_i`.
///
/// Under the null hypothesis the arms are exchangeable within each pair, so each difference is as
/// likely to have come out with the opposite sign. The two-sided p-value is the share of the 2^n
/// sign assignments whose mean has magnitude at least that of the observed mean (the observed
/// assignment among them). It assumes nothing about the shape of the differences, which for
/// per-problem pass rates are bounded, skewed and often tied, where a t-test's normality is not.
///
/// Zero differences are their own sign flip, so they cannot change any assignment's mean: they are
/// set aside, and only the signs of the nonzero differences are enumerated or sampled. Many ties
/// at zero (problems both arms always or never solve) therefore keep the exact test in reach.
/// Sums that are equal in exact arithmetic may differ in their last bits, so an assignment counts
/// as at least as extreme when its magnitude falls short of the observed by no more than the
/// rounding error a sum of these values can accumulate.
public enum PermutationTest {
  /// Up to this many nonzero differences every sign assignment is enumerated (2^20, about a
  /// million sums, a fraction of a second); beyond it they are sampled.
  public static let exactLimit = 20

  /// The test on `a[i] - b[i]`; see ``signFlip(_:resamples:seed:forceMonteCarlo:)``.
  ///
  /// - Throws: ``StatsInputError`` when `a` is empty, a value is not finite, `b` does not have as
  ///   many observations as `a`, or (when sampling) `resamples` is less than 1.
  public static func paired(
    a: [Double], b: [Double], resamples: Int = 10_000, seed: UInt64, forceMonteCarlo: Bool = false
  ) throws -> PermutationResult {
    try Validate.nonEmpty(a, "a", unit: "observation")
    try Validate.finite(a, "a")
    try Validate.finite(b, "b")
    if b.count != a.count {
      throw StatsInputError(subject: "b", expected: "\(a.count) observations (as in a)", found: "\(b.count)")
    }
    return try signFlip(zip(a, b).map { $0 - $1 }, resamples: resamples, seed: seed, forceMonteCarlo: forceMonteCarlo)
  }

  /// The test on paired differences. With at most ``exactLimit`` nonzero differences (and
  /// `forceMonteCarlo` false) the p-value is exact; otherwise `resamples` sign assignments are
  /// drawn from a generator seeded with `seed` and the p-value is `(count + 1) / (resamples + 1)`,
  /// which counts the observed assignment among the sampled ones: it is never 0 and stays a valid
  /// p-value, at most alpha with probability at most alpha under the null (Phipson & Smyth 2010,
  /// "Permutation P-values Should Never Be Zero").
  ///
  /// - Throws: ``StatsInputError`` when `differences` is empty, one is not finite, or (when
  ///   sampling) `resamples` is less than 1.
  public static func signFlip(
    _ differences: [Double], resamples: Int = 10_000, seed: UInt64, forceMonteCarlo: Bool = false
  ) throws -> PermutationResult {
    try Validate.nonEmpty(differences, "differences", unit: "difference")
    try Validate.finite(differences, "differences")
    let nonzero = differences.filter { $0 != 0 }
    let observedSum = nonzero.reduce(0, +)
    let observed = observedSum / Double(differences.count)
    // A sum of n terms is off by at most about n * ulp * sum of magnitudes.
    let tolerance = Double(nonzero.count) * Double.ulpOfOne * nonzero.reduce(0) { $0 + abs($1) }
    let threshold = abs(observedSum) - tolerance

    if nonzero.count <= exactLimit && !forceMonteCarlo {
      let assignments = 1 << nonzero.count
      var extreme = 0
      for flips in 0..<assignments where abs(signedSum(nonzero, flips: { (flips >> $0) & 1 == 1 })) >= threshold {
        extreme += 1
      }
      return PermutationResult(
        observed: observed, pValue: Double(extreme) / Double(assignments), exact: true, permutations: assignments)
    }

    try Validate.resamples(resamples)
    var generator = SeededGenerator(seed: seed)
    var extreme = 0
    for _ in 0..<resamples {
      let bits = (0..<((nonzero.count + 63) / 64)).map { _ in generator.next() }
      if abs(signedSum(nonzero, flips: { (bits[$0 / 64] >> UInt64($0 % 64)) & 1 == 1 })) >= threshold {
        extreme += 1
      }
    }
    return PermutationResult(
      observed: observed, pValue: Double(extreme + 1) / Double(resamples + 1), exact: false, permutations: resamples)
  }

  /// The sum of `values` with the sign of each index for which `flips` is true reversed, added in
  /// the same order as the observed sum so that identical assignments give identical bits.
  private static func signedSum(_ values: [Double], flips: (Int) -> Bool) -> Double {
    var sum = 0.0
    for (index, value) in values.enumerated() { sum += flips(index) ? -value : value }
    return sum
  }
}
