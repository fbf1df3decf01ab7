/// The data of one Countdown problem and its text forms.
///
/// Prompt format: the numbers in ascending order separated by commas, a colon, the target, and
/// `=`; e.g. numbers {25, 3, 7} with target 93 is `"3,7,25:93="`. Sorting makes the prompt (and so
/// the split) a function of the number multiset, so one puzzle cannot appear in both splits
/// under two orderings.
struct CountdownPuzzle: Equatable {
  /// Ascending.
  let numbers: [Int]
  let target: Int

  init(numbers: [Int], target: Int) {
    self.numbers = numbers.sorted()
    self.target = target
  }

  var prompt: String { "\(numbersText):\(target)=" }

  /// Carried in `Problem.metadata` so the verifier does not have to trust the prompt format.
  var metadata: [String: String] { ["numbers": numbersText, "target": String(target)] }

  private var numbersText: String { numbers.map(String.init).joined(separator: ",") }

  /// Reads the puzzle from `metadata["numbers"]` and `metadata["target"]` when both are
  /// present, otherwise from a prompt in the format above (so a JSONL record needs only a
  /// prompt). Nil if neither is usable.
  init?(problem: Problem) {
    if let numbers = problem.metadata["numbers"], let target = problem.metadata["target"] {
      self.init(numbersText: Substring(numbers), targetText: Substring(target))
    } else {
      let prompt = Substring(problem.prompt)
      guard prompt.hasSuffix("="), let colon = prompt.lastIndex(of: ":") else { return nil }
      self.init(numbersText: prompt[..<colon], targetText: prompt[prompt.index(after: colon)...].dropLast())
    }
  }

  private init?(numbersText: Substring, targetText: Substring) {
    let parts = numbersText.split(separator: ",", omittingEmptySubsequences: false)
    let numbers = parts.compactMap { Int($0) }
    guard !parts.isEmpty, numbers.count == parts.count, numbers.allSatisfy({ $0 > 0 }),
          let target = Int(targetText) else { return nil }
    self.init(numbers: numbers, target: target)
  }

  /// True if `expression` (see ``IntegerExpression``) evaluates exactly to the target using
  /// only the puzzle's numbers, each at most as many times as it appears in the puzzle.
  func isSolved(by expression: Substring) -> Bool {
    guard case .success(let evaluation) = IntegerExpression.evaluate(expression),
          evaluation.value == target else { return false }
    var available: [Int: Int] = [:]
    for number in numbers { available[number, default: 0] += 1 }
    for literal in evaluation.literals {
      guard let left = available[literal], left > 0 else { return false }
      available[literal] = left - 1
    }
    return true
  }
}
