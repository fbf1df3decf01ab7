/// Looks verifiers up by the names problems and datasets use.
///
/// Known names: `"arithmetic"`, `"countdown"`, `"exact"`, `"numeric"`; a problem whose
/// `verifier` is nil is scored by `"exact"`.
public enum VerifierRegistry {
  /// Completions longer than this many UTF-8 bytes (characters, for the tokenizer's ASCII
  /// vocabulary) score 0 without being parsed, which bounds every verifier's work.
  public static let maxCompletionLength = 1_000

  /// The verifier used when `Problem.verifier` is nil.
  public static let defaultVerifierName = "exact"

  /// Every registered verifier, sorted by name.
  public static let all: [Verifier] = [.arithmetic, .countdown, .exact, .numeric]

  /// The registered names, sorted: `["arithmetic", "countdown", "exact", "numeric"]`.
  public static var names: [String] { all.map(\.name) }

  /// The verifier called `name`.
  /// - Throws: ``TaskConfigurationError/unknownVerifier(_:known:)`` listing the known names.
  public static func verifier(named name: String) throws -> Verifier {
    guard let verifier = all.first(where: { $0.name == name }) else {
      throw TaskConfigurationError.unknownVerifier(name, known: names)
    }
    return verifier
  }

  /// Scores `completion` with the verifier `problem.verifier` names (`"exact"` if nil).
  /// A problem naming an unknown verifier scores 0: rewards must never trap mid-training, and
  /// dataset loaders reject unknown names up front.
  public static func reward(problem: Problem, completion: String) -> Double {
    guard let verifier = try? verifier(named: problem.verifier ?? defaultVerifierName) else { return 0 }
    return verifier.reward(problem: problem, completion: completion)
  }
}
