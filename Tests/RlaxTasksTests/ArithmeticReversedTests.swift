import RlaxTasks
import XCTest

/// Reversed answers: the same problems, answers written least-significant digit first.
final class ArithmeticReversedTests: XCTestCase {
  func testReversedAnswersAreTheDigitsOfTheSumBackwards() throws {
    let task = try TaskRegistry.make(name: "arithmetic", options: ["minDigits": "2", "maxDigits": "3", "reverseAnswer": "true"])
    for p in task.problems(split: .train, count: 200, seed: 9) {
      let parts = p.prompt.dropLast().split(separator: "+").map { Int($0)! }
      XCTAssertEqual(p.answer, String(String(parts[0] + parts[1]).reversed()), p.prompt)
      XCTAssertEqual(task.reward(problem: p, completion: p.answer), 1)
      if p.answer != String(p.answer.reversed()) {
        XCTAssertEqual(task.reward(problem: p, completion: String(p.answer.reversed())), 0, "the ordinary order is wrong here")
      }
    }
    let plain = try TaskRegistry.make(name: "arithmetic", options: ["minDigits": "2", "maxDigits": "3"])
    XCTAssertEqual(plain.problems(split: .train, count: 50, seed: 9).map(\.prompt), task.problems(split: .train, count: 50, seed: 9).map(\.prompt),
                   "the same prompts; only the answer's order changes")
  }
}
