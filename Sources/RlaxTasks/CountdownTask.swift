/// Countdown: combine the given numbers with `+ - * /` and parentheses to hit a target.
///
/// Prompt format: the numbers ascending, comma-separated, then `:`, the target and `=`, e.g.
/// `"3,7,25:93="`. The answer is one expression that reaches the target, e.g. `"(25-7)*3+39"`;
/// the `"countdown"` verifier accepts any expression that uses each given number at most once
/// and divides only exactly (see ``Verifier/countdown``).
///
/// Every target is reachable by construction: a problem draws `count` numbers uniformly from
/// `1...maxNumber` (repeats allowed), then repeatedly combines two random sub-expressions with a
/// random operation until one expression uses them all. `-` and `/` are only chosen when the
/// result is a positive integer, so every intermediate value is a positive integer. The
/// expression's value becomes the target if it lies in `1...maxTarget`; otherwise the draw is
/// discarded.
public struct CountdownTask: VerifiableTask {
  /// Accepted values of ``count``.
  public static let supportedCounts = 2...6
  /// Largest accepted ``maxNumber``: 1000^6 still fits in `Int`, so generation cannot overflow
  /// silently (it checks anyway).
  public static let maxSupportedNumber = 1_000
  /// Largest accepted ``maxTarget``.
  public static let maxSupportedTarget = 1_000_000

  /// `"countdown"`.
  public var name: String { "countdown" }
  /// How many numbers each problem gives.
  public let count: Int
  /// Numbers are drawn from `1...maxNumber`.
  public let maxNumber: Int
  /// Targets lie in `1...maxTarget`.
  public let maxTarget: Int

  /// Creates the task.
  /// - Throws: ``TaskConfigurationError/invalidOption(task:option:value:reason:)`` when a knob
  ///   is outside its supported range.
  public init(count: Int = 4, maxNumber: Int = 50, maxTarget: Int = 100) throws {
    func check(_ option: String, _ value: Int, _ range: ClosedRange<Int>) throws {
      guard range.contains(value) else {
        throw TaskConfigurationError.invalidOption(task: "countdown", option: option, value: String(value),
                                                   reason: "expected \(range.lowerBound)...\(range.upperBound)")
      }
    }
    try check("count", count, Self.supportedCounts)
    try check("maxNumber", maxNumber, 1...Self.maxSupportedNumber)
    try check("maxTarget", maxTarget, 1...Self.maxSupportedTarget)
    self.count = count
    self.maxNumber = maxNumber
    self.maxTarget = maxTarget
  }

  /// Deterministic in `seed`; problems carry verifier `"countdown"` and `metadata["numbers"]`
  /// (as in the prompt) and `metadata["target"]`.
  public func problems(split: Split, count problemCount: Int, seed: UInt64) -> [Problem] {
    drawProblems(split: split, count: problemCount, seed: seed) { rng in
      let numbers = (0..<count).map { _ in rng.next(in: 1...maxNumber) }
      guard let solution = randomExpression(over: numbers, &rng),
            (1...maxTarget).contains(solution.value) else { return nil }
      let puzzle = CountdownPuzzle(numbers: numbers, target: solution.value)
      return Problem(prompt: puzzle.prompt, answer: solution.text,
                     verifier: Verifier.countdown.name, metadata: puzzle.metadata)
    }
  }

  /// An expression using every number once, with its value; nil on (practically impossible)
  /// overflow.
  private func randomExpression(over numbers: [Int], _ rng: inout SplitMix64) -> RenderedExpression? {
    var pool = numbers.map(RenderedExpression.init(number:))
    while pool.count > 1 {
      var a = pool.remove(at: rng.next(below: pool.count))
      var b = pool.remove(at: rng.next(below: pool.count))
      if a.value < b.value { swap(&a, &b) }  // larger first, so `-` and `/` can stay positive
      var choices: [(Character, Int)] = []
      if case (let sum, false) = a.value.addingReportingOverflow(b.value) { choices.append(("+", sum)) }
      if a.value > b.value { choices.append(("-", a.value - b.value)) }
      if case (let product, false) = a.value.multipliedReportingOverflow(by: b.value) { choices.append(("*", product)) }
      if a.value % b.value == 0 { choices.append(("/", a.value / b.value)) }
      guard !choices.isEmpty else { return nil }
      let (op, value) = choices[rng.next(below: choices.count)]
      pool.append(RenderedExpression(a, op, b, value: value))
    }
    return pool[0]
  }
}

/// An expression's text with the fewest parentheses that keep its meaning, and its value.
private struct RenderedExpression {
  let text: String
  let value: Int
  /// 1 for `+ -`, 2 for `* /`, 3 for a bare number.
  let precedence: Int

  init(number: Int) {
    text = String(number)
    value = number
    precedence = 3
  }

  init(_ lhs: RenderedExpression, _ op: Character, _ rhs: RenderedExpression, value: Int) {
    let precedence = (op == "+" || op == "-") ? 1 : 2
    // Left operands need parentheses only when they bind more loosely. Right operands also
    // need them at equal precedence under `-` and `/` (a-(b-c) != a-b-c); under `+` and `*`
    // dropping them is safe, even a*(b/c) -> a*b/c, since c divides b and so divides a*b.
    let left = lhs.precedence < precedence ? "(\(lhs.text))" : lhs.text
    let rightNeedsParentheses = rhs.precedence < precedence
      || (rhs.precedence == precedence && (op == "-" || op == "/"))
    let right = rightNeedsParentheses ? "(\(rhs.text))" : rhs.text
    self.text = left + String(op) + right
    self.value = value
    self.precedence = precedence
  }
}
