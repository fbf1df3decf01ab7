import XCTest
@testable import RlaxTasks

final class ArithmeticTaskTests: XCTestCase {
  /// Recomputes a problem's answer from its prompt without the task's code.
  private func independentAnswer(_ prompt: String) -> Int? {
    guard prompt.hasSuffix("=") else { return nil }
    let body = prompt.dropLast()
    for op in ["+", "*", "-"] {
      let parts = body.components(separatedBy: op)
      guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { continue }
      switch op {
      case "+": return a + b
      case "-": return a - b
      default: return a * b
      }
    }
    return nil
  }

  func testAnswersAreCorrectAndOperandsRespectDigitRange() throws {
    let task = try ArithmeticTask(minDigits: 2, maxDigits: 4, operations: [.add, .subtract, .multiply])
    let problems = task.problems(split: .train, count: 500, seed: 3)
    XCTAssertEqual(problems.count, 500)
    var ops = Set<String>()
    for problem in problems {
      XCTAssertEqual(independentAnswer(problem.prompt).map(String.init), problem.answer, problem.prompt)
      let operands = problem.prompt.dropLast().split(whereSeparator: { "+-*".contains($0) })
      XCTAssertEqual(operands.count, 2)
      for operand in operands { XCTAssertTrue((2...4).contains(operand.count), problem.prompt) }
      XCTAssertEqual(problem.verifier, "arithmetic")
      XCTAssertEqual(task.reward(problem: problem, completion: problem.answer), 1)
      ops.insert(problem.metadata["op"]!)
      XCTAssertFalse(problem.answer.hasPrefix("-"), "negative results are off by default")
    }
    XCTAssertEqual(ops, ["+", "-", "*"])
  }

  func testNegativeResultsOnlyWhenAllowed() throws {
    let task = try ArithmeticTask(minDigits: 1, maxDigits: 2, operations: [.subtract], allowNegative: true)
    let answers = task.problems(split: .train, count: 300, seed: 1).map(\.answer)
    XCTAssertTrue(answers.contains { $0.hasPrefix("-") })
    for problem in task.problems(split: .train, count: 300, seed: 1) {
      XCTAssertEqual(independentAnswer(problem.prompt).map(String.init), problem.answer)
    }
  }

  func testSameSeedSameProblemsDifferentSeedDifferentProblems() throws {
    let task = try ArithmeticTask()
    XCTAssertEqual(task.problems(split: .train, count: 50, seed: 9), task.problems(split: .train, count: 50, seed: 9))
    XCTAssertNotEqual(task.problems(split: .train, count: 50, seed: 9), task.problems(split: .train, count: 50, seed: 10))
    // A shorter request is a prefix of a longer one with the same seed.
    XCTAssertEqual(task.problems(split: .heldOut, count: 10, seed: 9),
                   Array(task.problems(split: .heldOut, count: 30, seed: 9).prefix(10)))
  }

  func testOperationOrderDoesNotAffectSampling() throws {
    let a = try ArithmeticTask(operations: [.multiply, .add])
    let b = try ArithmeticTask(operations: [.add, .multiply])
    XCTAssertEqual(a.problems(split: .train, count: 20, seed: 5), b.problems(split: .train, count: 20, seed: 5))
  }

  func testSplitsAreDisjointAndFollowTheHashRule() throws {
    let task = try ArithmeticTask(minDigits: 1, maxDigits: 2, operations: [.add, .subtract])
    let heldOut = Set(task.problems(split: .heldOut, count: 2_000, seed: 11).map(\.prompt))
    let train = task.problems(split: .train, count: 10_000, seed: 12).map(\.prompt)
    XCTAssertFalse(heldOut.isEmpty)
    XCTAssertTrue(heldOut.allSatisfy { FNV1a.hash($0) % 10 == 0 })
    XCTAssertTrue(train.allSatisfy { FNV1a.hash($0) % 10 != 0 })
    XCTAssertTrue(heldOut.isDisjoint(with: train))
  }

  func testSingleDigitAdditionHeldOutSetIsExactlyTheHashedSix() throws {
    // Of the 100 prompts "a+b=" with a, b in 0...9, exactly these six hash to 0 mod 10
    // (computed independently with a reference FNV-1a).
    let task = try ArithmeticTask(minDigits: 1, maxDigits: 1)
    let heldOut = Set(task.problems(split: .heldOut, count: 300, seed: 0).map(\.prompt))
    XCTAssertEqual(heldOut, ["2+7=", "3+0=", "3+8=", "4+5=", "5+4=", "9+6="])
    let train = Set(task.problems(split: .train, count: 3_000, seed: 0).map(\.prompt))
    XCTAssertEqual(train.count, 94)
  }

  func testInvalidConfigurationsThrow() {
    XCTAssertThrowsError(try ArithmeticTask(minDigits: 0)) { error in
      XCTAssertEqual("\(error)", "task \"arithmetic\": option minDigits=\"0\": expected 1...9")
    }
    XCTAssertThrowsError(try ArithmeticTask(minDigits: 3, maxDigits: 2))
    XCTAssertThrowsError(try ArithmeticTask(maxDigits: 10))
    XCTAssertThrowsError(try ArithmeticTask(operations: []))
  }

  func testLargestOperandsDoNotOverflow() throws {
    let task = try ArithmeticTask(minDigits: 9, maxDigits: 9, operations: [.multiply])
    for problem in task.problems(split: .train, count: 50, seed: 2) {
      XCTAssertEqual(independentAnswer(problem.prompt).map(String.init), problem.answer)
    }
  }

  func testZeroCountGivesNoProblems() throws {
    XCTAssertEqual(try ArithmeticTask().problems(split: .train, count: 0, seed: 1), [])
  }
}
