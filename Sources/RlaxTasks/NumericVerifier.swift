extension Verifier {
  /// The tolerance `"numeric"` uses: 1e-6.
  public static let defaultNumericTolerance = 1e-6

  /// `"numeric"` with the default tolerance (see ``numeric(tolerance:)``).
  public static let numeric = numeric(tolerance: defaultNumericTolerance)

  /// A numeric verifier: completion and answer both parse as finite decimal numbers `c` and `a`
  /// (optional sign, digits with an optional fraction, optional exponent: `-3`, `0.5`, `.5`,
  /// `2.`, `1e-3`; not `nan`, `inf`, hex or thousands separators) and
  /// `|c - a| <= tolerance * (1 + |a|)`.
  ///
  /// That bound is absolute (`tolerance`) for answers near zero and relative (`tolerance * |a|`)
  /// for large ones, so `0.3333333` matches `1/3` at 1e-6 and `1000000.5` matches `1000000`.
  public static func numeric(tolerance: Double) -> Verifier {
    Verifier(
      name: "numeric",
      summary: "the completion is a decimal number within \(tolerance) * (1 + |answer|) of the answer",
      score: { problem, completion in
        guard let expected = parseDecimal(trimmed(problem.answer)),
              let actual = parseDecimal(completion) else { return 0 }
        return abs(actual - expected) <= tolerance * (1 + abs(expected)) ? 1 : 0
      },
      check: { problem in
        parseDecimal(trimmed(problem.answer)) == nil
          ? ProblemDefect(field: "answer", reason: "the numeric verifier needs a decimal number, found \(quoted(problem.answer))")
          : nil
      })
  }
}

/// Parses `[+-]?(digits[.digits?]|.digits)([eE][+-]?digits)?` to a finite Double, or nil.
/// Swift's `Double(String)` alone would also accept `nan`, `inf` and hex floats, which a model
/// could use to game a tolerance check.
func parseDecimal(_ text: Substring) -> Double? {
  let bytes = Array(text.utf8)
  var i = 0
  func isDigit(_ index: Int) -> Bool {
    index < bytes.count && bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9")
  }
  func skipDigits() -> Int {
    let start = i
    while isDigit(i) { i += 1 }
    return i - start
  }
  if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
  var mantissaDigits = skipDigits()
  if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
    i += 1
    mantissaDigits += skipDigits()
  }
  guard mantissaDigits > 0 else { return nil }
  if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
    i += 1
    if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
    guard skipDigits() > 0 else { return nil }
  }
  guard i == bytes.count, let value = Double(String(text)), value.isFinite else { return nil }
  return value
}
