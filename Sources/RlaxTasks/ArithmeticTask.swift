/// Integer arithmetic on two operands: prompt `"12+345="`, answer `"357"`, scored by the
/// `"arithmetic"` verifier (canonical integer, surrounding whitespace ignored).
///
/// Each problem picks an operation uniformly from ``operations``, then each operand's digit
/// count uniformly from `minDigits...maxDigits`, then the operand uniformly among numbers with
/// that many digits (`0...9` for one digit, `10...99` for two, ...). Operands are never
/// negative; a `-` result is negative only when ``allowNegative`` is set, otherwise the larger
/// operand comes first.
public struct ArithmeticTask: VerifiableTask {
  /// A binary operation the task can ask for; the raw value is its symbol in the prompt.
  public enum Operation: String, CaseIterable, Sendable {
    /// `+`
    case add = "+"
    /// `-`
    case subtract = "-"
    /// `*`
    case multiply = "*"
  }

  /// Largest supported operand length: two 9-digit operands multiply to under 10^18, which fits
  /// in `Int`.
  public static let maxSupportedDigits = 9

  /// `"arithmetic"`.
  public var name: String { "arithmetic" }
  /// Fewest digits in an operand (>= 1).
  public let minDigits: Int
  /// Most digits in an operand (`minDigits...maxSupportedDigits`).
  public let maxDigits: Int
  /// The operations problems use, in `Operation.allCases` order (so sampling does not depend on
  /// how the caller ordered them).
  public let operations: [Operation]
  /// Whether `a-b` may have `b > a` (and so a negative answer).
  public let allowNegative: Bool
  /// Whether the answer is written least-significant digit first (`12+345=` -> `753`), the
  /// order in which a left-to-right model can compute carries; scored by exact match.
  public let reverseAnswer: Bool

  /// Creates the task.
  /// - Throws: ``TaskConfigurationError/invalidOption(task:option:value:reason:)`` when the
  ///   digit range is empty or out of `1...maxSupportedDigits`, or `operations` is empty.
  public init(minDigits: Int = 1, maxDigits: Int = 3, operations: Set<Operation> = [.add],
              allowNegative: Bool = false, reverseAnswer: Bool = false) throws {
    let limit = Self.maxSupportedDigits
    guard (1...limit).contains(minDigits) else {
      throw TaskConfigurationError.invalidOption(task: "arithmetic", option: "minDigits", value: String(minDigits),
                                                 reason: "expected 1...\(limit)")
    }
    guard (minDigits...limit).contains(maxDigits) else {
      throw TaskConfigurationError.invalidOption(task: "arithmetic", option: "maxDigits", value: String(maxDigits),
                                                 reason: "expected minDigits (\(minDigits))...\(limit)")
    }
    guard !operations.isEmpty else {
      throw TaskConfigurationError.invalidOption(task: "arithmetic", option: "ops", value: "",
                                                 reason: "expected at least one of + - *")
    }
    self.minDigits = minDigits
    self.maxDigits = maxDigits
    self.operations = Operation.allCases.filter(operations.contains)
    self.allowNegative = allowNegative
    self.reverseAnswer = reverseAnswer
  }

  /// Deterministic in `seed`; problems carry verifier `"arithmetic"` and `metadata["op"]`.
  public func problems(split: Split, count: Int, seed: UInt64) -> [Problem] {
    drawProblems(split: split, count: count, seed: seed) { rng in
      let operation = operations[rng.next(below: operations.count)]
      var a = operand(&rng)
      var b = operand(&rng)
      if operation == .subtract && !allowNegative && a < b { swap(&a, &b) }
      let result: Int
      switch operation {
      case .add: result = a + b
      case .subtract: result = a - b
      case .multiply: result = a * b
      }
      if reverseAnswer {
        let digits = String(String(abs(result)).reversed())
        return Problem(prompt: "\(a)\(operation.rawValue)\(b)=", answer: result < 0 ? "-" + digits : digits,
                       verifier: Verifier.exact.name, metadata: ["op": operation.rawValue, "order": "reversed"])
      }
      return Problem(prompt: "\(a)\(operation.rawValue)\(b)=", answer: String(result),
                     verifier: Verifier.arithmetic.name, metadata: ["op": operation.rawValue])
    }
  }

  private func operand(_ rng: inout SplitMix64) -> Int {
    let digits = rng.next(in: minDigits...maxDigits)
    let upper = power(10, digits)
    return rng.next(in: (digits == 1 ? 0 : upper / 10)...(upper - 1))
  }
}

/// `base` to the `exponent` (small, non-negative) in integers.
func power(_ base: Int, _ exponent: Int) -> Int {
  (0..<exponent).reduce(1) { product, _ in product * base }
}
