extension Verifier {
  /// `"arithmetic"`: the trimmed completion is an integer written canonically (optional `-`,
  /// no `+`, no leading zeros, no `-0`) and equals the answer. Canonical form only, because
  /// SFT teaches that form and RL should not reward drifting away from it; integers are
  /// compared as strings so any number of digits works without overflow.
  public static let arithmetic = Verifier(
    name: "arithmetic",
    summary: "the completion is the answer's integer, written canonically (e.g. -42, not +42 or -042)",
    score: { problem, completion in
      let answer = trimmed(problem.answer)
      return isCanonicalInteger(completion) && completion == answer ? 1 : 0
    },
    check: { problem in
      isCanonicalInteger(trimmed(problem.answer))
        ? nil
        : ProblemDefect(field: "answer", reason: "the arithmetic verifier needs a canonical integer, found \(quoted(problem.answer))")
    })
}

/// Matches `-?(0|[1-9][0-9]*)`, excluding `-0`.
func isCanonicalInteger(_ text: Substring) -> Bool {
  var digits = text.utf8[...]
  if digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
  guard let first = digits.first, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
    return false
  }
  if first == UInt8(ascii: "0") { return digits.count == 1 && digits.count == text.utf8.count }
  return true
}

/// `text` in double quotes, shortened to 40 characters so error messages stay one line.
func quoted(_ text: String) -> String {
  let short = text.count > 40 ? String(text.prefix(40)) + "..." : text
  return short.debugDescription
}
