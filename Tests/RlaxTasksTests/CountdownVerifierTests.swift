import XCTest
@testable import RlaxTasks

final class CountdownVerifierTests: XCTestCase {
  /// Numbers 3, 7, 25 and target 96 = (25+7)*3.
  private let p96 = Problem(prompt: "3,7,25:96=", answer: "(25+7)*3", verifier: "countdown",
                            metadata: ["numbers": "3,7,25", "target": "96"])

  private func reward(_ completion: String, _ problem: Problem) -> Double {
    Verifier.countdown.reward(problem: problem, completion: completion)
  }

  /// A problem over 3, 7, 25 with `target`, described by its prompt only.
  private func over3725(_ target: Int) -> Problem {
    Problem(prompt: "3,7,25:\(target)=", answer: "", verifier: "countdown")
  }

  func testCorrectAlternativeExpressionsVerify() {
    XCTAssertEqual(reward("(25+7)*3", p96), 1)
    XCTAssertEqual(reward("3*(7+25)", p96), 1)
    XCTAssertEqual(reward("3*7+3*25", p96), 0, "distributing reuses 3")
    XCTAssertEqual(reward(" 3 * ( 25 + 7 ) \n", p96), 1)
    XCTAssertEqual(reward("((3))*((7+25))", p96), 1)
    XCTAssertEqual(reward("25*3+7", over3725(82)), 1)   // 75 + 7
    XCTAssertEqual(reward("25-7-3", over3725(15)), 1)   // left-associative: 18 - 3
    XCTAssertEqual(reward("7*3", over3725(21)), 1)      // not every number must be used
    XCTAssertEqual(reward("(25-7)/3", over3725(6)), 1)  // 18 / 3 divides exactly
    XCTAssertEqual(reward("25*(7-3)", over3725(100)), 1)
  }

  func testDuplicateNumbersMayEachBeUsedOnce() {
    let p = Problem(prompt: "4,4,6:22=", answer: "4*4+6", verifier: "countdown")
    XCTAssertEqual(reward("4*4+6", p), 1)
    XCTAssertEqual(reward("4*4+4+6", Problem(prompt: "4,4,6:26=", answer: "", verifier: "countdown")), 0)
  }

  func testWrongAnswersScoreZero() {
    XCTAssertEqual(reward("25+7*3", p96), 0, "wrong target: 46")
    XCTAssertEqual(reward("(25+7)*3+3-3", p96), 0, "3 used three times")
    XCTAssertEqual(reward("(25+7)*3*1", p96), 0, "1 is not a given number")
    XCTAssertEqual(reward("(24+8)*3", p96), 0, "unknown numbers")
    XCTAssertEqual(reward("(25+7)*3=96", p96), 0, "only the expression is expected")
    XCTAssertEqual(reward("-3+99", Problem(prompt: "3,99:96=", answer: "", verifier: "countdown")), 0, "no unary minus")
  }

  func testDivisionWithRemainderIsInvalid() {
    // 25/3 is not an integer, even though 25/3*3 would be 25 in rationals.
    let p = Problem(prompt: "3,3,25:25=", answer: "", verifier: "countdown")
    XCTAssertEqual(reward("25/3*3", p), 0)
    XCTAssertEqual(IntegerExpression.evaluate("25/3*3"), .failure(.inexactDivision))
    XCTAssertEqual(IntegerExpression.evaluate("7/(3-3)"), .failure(.divisionByZero))
  }

  func testMalformedTextScoresZeroWithoutCrashing() {
    for text in ["((3+", "3++4", "", "   ", "3 7", ")(", "()", "3+", "*3", "3+4)", "abc", "3.5+1", "٣+7",
                 String(repeating: "(", count: 400) + "3" + String(repeating: ")", count: 400),
                 String(repeating: "3+", count: 2_500) + "3",
                 "99999999999999999999*3",
                 "1000000000*1000000000*1000000000"] {
      XCTAssertEqual(reward(text, p96), 0, String(text.prefix(30)))
    }
    XCTAssertEqual(IntegerExpression.evaluate("3++4"), .failure(.syntax(offset: 2)))
    XCTAssertEqual(IntegerExpression.evaluate("((3+"), .failure(.syntax(offset: 4)))
    XCTAssertEqual(IntegerExpression.evaluate("99999999999999999999"), .failure(.overflow))
    XCTAssertEqual(IntegerExpression.evaluate(Substring(String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40))),
                   .failure(.tooDeep))
  }

  func testExpressionEvaluationFollowsPrecedenceAndLeftAssociativity() {
    XCTAssertEqual(IntegerExpression.evaluate("2+3*4"), .success(.init(value: 14, literals: [2, 3, 4])))
    XCTAssertEqual(IntegerExpression.evaluate("10-4-3"), .success(.init(value: 3, literals: [10, 4, 3])))
    XCTAssertEqual(IntegerExpression.evaluate("24/4/2"), .success(.init(value: 3, literals: [24, 4, 2])))
    XCTAssertEqual(IntegerExpression.evaluate("3-10"), .success(.init(value: -7, literals: [3, 10])))
  }

  func testPuzzleFallsBackToPromptWhenMetadataIsAbsent() {
    let p = Problem(prompt: "2,5:10=", answer: "2*5", verifier: "countdown")
    XCTAssertEqual(reward("5*2", p), 1)
    XCTAssertEqual(reward("5*2", Problem(prompt: "not a puzzle", answer: "2*5", verifier: "countdown")), 0)
  }
}
