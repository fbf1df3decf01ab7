/// Critical values of Student's t distribution, for intervals over a handful of seeds where the
/// normal's 1.96 would be far too narrow (with 3 seeds the right factor is 4.30).
public enum StudentT {
  /// The 0.975 quantile of t with `degreesOfFreedom` degrees of freedom: the factor of a
  /// two-sided 95% interval, `mean ± t * sd / sqrt(n)` with `n - 1` degrees of freedom.
  ///
  /// Degrees of freedom 1 to 30 come from a table (to 9 decimals, as computed by SciPy's
  /// `t.ppf(0.975, df)`; they round to the published 12.706, 4.303, ..., 2.042). Beyond 30 the
  /// normal quantile z = 1.959964 is corrected by the Cornish–Fisher expansion in 1/df
  /// (Abramowitz & Stegun 26.7.5, four terms), within 3e-8 of the exact value at df 31 and closer
  /// as df grows.
  ///
  /// - Precondition: `degreesOfFreedom >= 1`.
  public static func criticalValue95(degreesOfFreedom: Int) -> Double {
    precondition(degreesOfFreedom >= 1, "t needs at least 1 degree of freedom (found \(degreesOfFreedom))")
    if degreesOfFreedom <= table.count { return table[degreesOfFreedom - 1] }
    let z = 1.959963984540054
    let v = Double(degreesOfFreedom)
    let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z
    return z
      + (z3 + z) / (4 * v)
      + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
      + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
      + (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * v * v * v * v)
  }

  /// t(0.975, df) for df = 1...30.
  private static let table: [Double] = [
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836,
    2.446911851, 2.364624252, 2.306004135, 2.262157163, 2.228138852,
    2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546,
    2.119905299, 2.109815578, 2.100922040, 2.093024054, 2.085963447,
    2.079613845, 2.073873068, 2.068657610, 2.063898562, 2.059538553,
    2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
  ]
}
