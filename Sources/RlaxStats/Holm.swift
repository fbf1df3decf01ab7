/// Holm–Bonferroni adjusted p-values for a family of tests (Holm 1979, "A Simple Sequentially
/// Rejective Multiple Test Procedure"). `rlax compare` reports several metrics at once; testing
/// each at alpha would find a "significant" difference by chance far more often than alpha, and
/// Holm keeps the chance of any false rejection at most alpha while rejecting at least as much as
/// plain Bonferroni, under any dependence between the tests.
///
/// With the m p-values sorted ascending, `p(1) <= ... <= p(m)`, the adjusted value of the i-th is
/// `min(1, max over j <= i of (m - j + 1) * p(j))`: the running maximum keeps the adjusted values
/// in the same order as the raw ones, as the step-down procedure rejects a hypothesis only after
/// all smaller ones. Rejecting where the adjusted value is at most alpha is exactly Holm's procedure.
public struct Holm: Sendable, Equatable {
  /// The p-values as given.
  public let pValues: [Double]
  /// The adjusted p-values, in the order of `pValues`.
  public let adjusted: [Double]

  /// Adjusts `pValues`; an empty family has no adjusted values.
  ///
  /// - Throws: ``StatsInputError`` when a p-value is not in [0, 1] (NaN included).
  public init(_ pValues: [Double]) throws {
    if let index = pValues.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
      throw StatsInputError(subject: "pValues[\(index)]", expected: "a probability in [0, 1]", found: "\(pValues[index])")
    }
    let m = pValues.count
    var adjusted = [Double](repeating: 0, count: m)
    var runningMax = 0.0
    // Ties may sort in either order: equal p-values come out with equal adjusted values.
    let ascending = pValues.indices.sorted { pValues[$0] < pValues[$1] }
    for (rank, index) in ascending.enumerated() {
      runningMax = max(runningMax, min(1, Double(m - rank) * pValues[index]))
      adjusted[index] = runningMax
    }
    self.pValues = pValues
    self.adjusted = adjusted
  }

  /// For each hypothesis, in input order, whether the family rejects it at level `alpha`.
  public func rejected(alpha: Double) -> [Bool] { adjusted.map { $0 <= alpha } }
}
