import XCTest
@testable import RlaxTasks

final class CountdownTaskTests: XCTestCase {
  func testEveryCanonicalAnswerVerifiesAndMatchesThePromptFormat() throws {
    for count in [3, 4] {
      let task = try CountdownTask(count: count, maxNumber: 25, maxTarget: 100)
      for split in Split.allCases {
        let problems = task.problems(split: split, count: 400, seed: UInt64(count))
        XCTAssertEqual(problems.count, 400)
        for problem in problems {
          XCTAssertEqual(task.reward(problem: problem, completion: problem.answer), 1, "\(problem.prompt) \(problem.answer)")
          // Prompt: ascending numbers, ':', target, '='; metadata says the same.
          let body = problem.prompt.dropLast()
          let halves = body.split(separator: ":")
          let numbers = halves[0].split(separator: ",").map { Int($0)! }
          let target = Int(halves[1])!
          XCTAssertTrue(problem.prompt.hasSuffix("="))
          XCTAssertEqual(numbers.count, count)
          XCTAssertEqual(numbers, numbers.sorted())
          XCTAssertTrue(numbers.allSatisfy { (1...25).contains($0) })
          XCTAssertTrue((1...100).contains(target))
          XCTAssertEqual(problem.metadata, ["numbers": String(halves[0]), "target": String(halves[1])])
          XCTAssertEqual(problem.verifier, "countdown")
          XCTAssertEqual(Split.containing(prompt: problem.prompt), split)
        }
      }
    }
  }

  func testCanonicalAnswersUseEveryNumberExactlyOnce() throws {
    let task = try CountdownTask(count: 4)
    for problem in task.problems(split: .train, count: 200, seed: 8) {
      let literals = problem.answer.split(whereSeparator: { !$0.isNumber }).map { Int($0)! }
      XCTAssertEqual(literals.sorted(), problem.metadata["numbers"]!.split(separator: ",").map { Int($0)! })
    }
  }

  func testDeterministicInSeed() throws {
    let task = try CountdownTask()
    XCTAssertEqual(task.problems(split: .train, count: 30, seed: 4), task.problems(split: .train, count: 30, seed: 4))
    XCTAssertNotEqual(task.problems(split: .train, count: 30, seed: 4), task.problems(split: .train, count: 30, seed: 5))
  }

  func testSplitsAreDisjointOverTenThousandTrainSamples() throws {
    let task = try CountdownTask(count: 3, maxNumber: 10, maxTarget: 30)
    let heldOut = Set(task.problems(split: .heldOut, count: 1_000, seed: 1).map(\.prompt))
    let train = task.problems(split: .train, count: 10_000, seed: 2).map(\.prompt)
    XCTAssertGreaterThan(heldOut.count, 50)
    XCTAssertTrue(heldOut.isDisjoint(with: train))
  }

  func testInvalidConfigurationsThrow() {
    XCTAssertThrowsError(try CountdownTask(count: 1)) { error in
      XCTAssertEqual("\(error)", "task \"countdown\": option count=\"1\": expected 2...6")
    }
    XCTAssertThrowsError(try CountdownTask(maxNumber: 0))
    XCTAssertThrowsError(try CountdownTask(maxNumber: 1_001))
    XCTAssertThrowsError(try CountdownTask(maxTarget: 0))
  }

  func testLargestConfigurationGeneratesValidProblems() throws {
    let task = try CountdownTask(count: 6, maxNumber: 1_000, maxTarget: 1_000_000)
    for problem in task.problems(split: .train, count: 50, seed: 6) {
      XCTAssertEqual(task.reward(problem: problem, completion: problem.answer), 1, problem.answer)
    }
  }
}
