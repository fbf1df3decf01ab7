extension Verifier {
  /// `"countdown"`: the completion is an arithmetic expression over integers with `+ - * /` and
  /// parentheses that evaluates exactly to the target, where every `/` divides without
  /// remainder and every literal is one of the given numbers, each used at most as often as
  /// given (not all need be used). Any such expression scores 1, not only the reference answer.
  ///
  /// Numbers and target come from `metadata["numbers"]` (comma-separated) and
  /// `metadata["target"]`, or, when those are absent, from a prompt in ``CountdownTask``'s format
  /// (`"3,7,25:93="`).
  public static let countdown = Verifier(
    name: "countdown",
    summary: "the completion is an expression using the given numbers at most once each that equals the target",
    score: { problem, completion in
      guard let puzzle = CountdownPuzzle(problem: problem) else { return 0 }
      return puzzle.isSolved(by: completion) ? 1 : 0
    },
    check: { problem in
      guard let puzzle = CountdownPuzzle(problem: problem) else {
        return ProblemDefect(
          field: "prompt",
          reason: "the countdown verifier needs a prompt like \"3,7,25:93=\" (or metadata numbers and target), found \(quoted(problem.prompt))")
      }
      return puzzle.isSolved(by: trimmed(problem.answer))
        ? nil
        : ProblemDefect(field: "answer", reason: "\(quoted(problem.answer)) does not solve the countdown puzzle \(quoted(puzzle.prompt))")
    })
}
