/// The outcome of a ``PermutationTest``.
public struct PermutationResult: Sendable, Equatable {
  /// The mean of the differences as observed (zeros included).
  public let observed: Double
  /// The two-sided p-value: the share of sign assignments whose mean is at least as far from 0.
  public let pValue: Double
  /// True when every sign assignment was enumerated, false when they were sampled (Monte Carlo).
  public let exact: Bool
  /// The sign assignments behind `pValue`: 2^(number of nonzero differences) when exact, the
  /// number of resamples (not counting the observed assignment) when sampled.
  public let permutations: Int

  /// Creates a result; see the properties.
  public init(observed: Double, pValue: Double, exact: Bool, permutations: Int) {
    self.observed = observed
    self.pValue = pValue
    self.exact = exact
    self.permutations = permutations
  }
}
