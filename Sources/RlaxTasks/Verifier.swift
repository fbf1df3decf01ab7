import Foundation

/// A named, pure scoring function: `(problem, completion) -> reward`, 1 for correct and 0 for
/// wrong. Verifiers never trap or hang: completions longer than
/// ``VerifierRegistry/maxCompletionLength`` score 0 before any parsing, and parsers bound their
/// recursion.
///
/// Every verifier ignores leading and trailing whitespace (spaces, tabs, newlines) in both the
/// completion and the reference answer, because models often emit a trailing space or newline
/// before EOS.
public struct Verifier: Sendable {
  /// The name problems and datasets refer to, e.g. `"numeric"`.
  public let name: String
  /// One line on what counts as correct, for CLI help and error messages.
  public let summary: String
  private let score: @Sendable (Problem, Substring) -> Double
  private let check: @Sendable (Problem) -> ProblemDefect?

  init(name: String, summary: String,
       score: @escaping @Sendable (Problem, Substring) -> Double,
       check: @escaping @Sendable (Problem) -> ProblemDefect?) {
    self.name = name
    self.summary = summary
    self.score = score
    self.check = check
  }

  /// Scores `completion` against `problem`: 1 if correct, 0 otherwise (including completions
  /// over ``VerifierRegistry/maxCompletionLength`` UTF-8 bytes, and problems whose reference the
  /// verifier cannot use).
  public func reward(problem: Problem, completion: String) -> Double {
    guard completion.utf8.count <= VerifierRegistry.maxCompletionLength else { return 0 }
    return score(problem, trimmed(completion))
  }

  /// Why this verifier could never score `problem` correctly (e.g. a `numeric` problem whose
  /// answer is not a number), or nil if the problem is usable. Dataset loaders call this so a
  /// bad record fails at load time rather than silently rewarding 0 during training.
  func defect(in problem: Problem) -> ProblemDefect? { check(problem) }
}

/// What is wrong with a problem for a given verifier: the offending field and why.
struct ProblemDefect: Equatable {
  var field: String
  var reason: String
}

/// `text` without leading/trailing whitespace and newlines.
func trimmed(_ text: String) -> Substring {
  let isSpace: (Character) -> Bool = { $0.isWhitespace }
  guard let start = text.firstIndex(where: { !isSpace($0) }) else { return "" }
  let end = text.lastIndex(where: { !isSpace($0) })!
  return text[start...end]
}
