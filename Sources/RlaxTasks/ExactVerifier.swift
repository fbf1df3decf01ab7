extension Verifier {
  /// `"exact"`: the trimmed completion equals the trimmed answer, character for character.
  public static let exact = Verifier(
    name: "exact",
    summary: "the completion equals the answer exactly (surrounding whitespace ignored)",
    score: { problem, completion in completion == trimmed(problem.answer) ? 1 : 0 },
    check: { _ in nil })
}
