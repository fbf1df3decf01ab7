import XCTest
@testable import RlaxTasks

final class VerifierTests: XCTestCase {
  private func problem(_ answer: String, _ verifier: String?) -> Problem {
    Problem(prompt: "q", answer: answer, verifier: verifier)
  }

  func testExactIgnoresSurroundingWhitespaceOnly() {
    let p = problem("Paris", "exact")
    XCTAssertEqual(Verifier.exact.reward(problem: p, completion: "Paris"), 1)
    XCTAssertEqual(Verifier.exact.reward(problem: p, completion: "  Paris \n"), 1)
    XCTAssertEqual(Verifier.exact.reward(problem: p, completion: "paris"), 0)
    XCTAssertEqual(Verifier.exact.reward(problem: p, completion: "Par is"), 0)
    XCTAssertEqual(Verifier.exact.reward(problem: problem("Paris\n", nil), completion: "Paris"), 1)
  }

  func testArithmeticAcceptsOnlyTheCanonicalInteger() {
    let p = problem("357", "arithmetic")
    XCTAssertEqual(Verifier.arithmetic.reward(problem: p, completion: "357"), 1)
    XCTAssertEqual(Verifier.arithmetic.reward(problem: p, completion: " 357  "), 1)
    for wrong in ["+357", "0357", "357.0", "356", "3 57", "", "357=357"] {
      XCTAssertEqual(Verifier.arithmetic.reward(problem: p, completion: wrong), 0, wrong)
    }
    let negative = problem("-42", "arithmetic")
    XCTAssertEqual(Verifier.arithmetic.reward(problem: negative, completion: "-42"), 1)
    XCTAssertEqual(Verifier.arithmetic.reward(problem: negative, completion: "- 42"), 0)
    let zero = problem("0", "arithmetic")
    XCTAssertEqual(Verifier.arithmetic.reward(problem: zero, completion: "0"), 1)
    XCTAssertEqual(Verifier.arithmetic.reward(problem: zero, completion: "-0"), 0)
    XCTAssertEqual(Verifier.arithmetic.reward(problem: zero, completion: "00"), 0)
  }

  func testNumericToleranceIsAbsoluteNearZeroAndRelativeForLargeValues() {
    let numeric = Verifier.numeric
    // |c - a| <= 1e-6 * (1 + |a|)
    XCTAssertEqual(numeric.reward(problem: problem("0", nil), completion: "0.0000009"), 1)
    XCTAssertEqual(numeric.reward(problem: problem("0", nil), completion: "0.0000011"), 0)
    XCTAssertEqual(numeric.reward(problem: problem("1000000", nil), completion: "1000000.9"), 1)   // bound 1.000001
    XCTAssertEqual(numeric.reward(problem: problem("1000000", nil), completion: "1000001.1"), 0)
    XCTAssertEqual(numeric.reward(problem: problem("0.3333333333", nil), completion: "0.3333333"), 1)
    XCTAssertEqual(numeric.reward(problem: problem("0.5", nil), completion: ".5"), 1)
    XCTAssertEqual(numeric.reward(problem: problem("2", nil), completion: "2."), 1)
    XCTAssertEqual(numeric.reward(problem: problem("-3", nil), completion: "-3e0"), 1)
    XCTAssertEqual(numeric.reward(problem: problem("1500", nil), completion: "+1.5E3"), 1)
    XCTAssertEqual(numeric.reward(problem: problem("0.5", nil), completion: " 0.5\n"), 1)
    XCTAssertEqual(Verifier.numeric(tolerance: 0.1).reward(problem: problem("10", nil), completion: "11.05"), 1)  // bound 1.1
    XCTAssertEqual(Verifier.numeric(tolerance: 0.1).reward(problem: problem("10", nil), completion: "11.2"), 0)
  }

  func testNumericRejectsNonDecimalSpellings() {
    let p = problem("16", nil)
    for text in ["0x10", "nan", "inf", "1,6", "16abc", "1e", ".", "-", "", "1e999", "sixteen", "16 16"] {
      XCTAssertEqual(Verifier.numeric.reward(problem: p, completion: text), 0, text)
    }
    XCTAssertEqual(Verifier.numeric.reward(problem: problem("nan", nil), completion: "nan"), 0)
  }

  func testLongCompletionsScoreZeroForEveryVerifier() {
    let long = String(repeating: " ", count: 1_000) + "7"  // 1001 bytes, even though it trims to "7"
    for verifier in VerifierRegistry.all {
      let p = Problem(prompt: "7:7=", answer: "7", verifier: verifier.name)
      XCTAssertEqual(verifier.reward(problem: p, completion: "7"), 1, verifier.name)
      XCTAssertEqual(verifier.reward(problem: p, completion: long), 0, verifier.name)
    }
  }

  func testRegistryLooksUpByNameAndDefaultsToExact() throws {
    XCTAssertEqual(VerifierRegistry.names, ["arithmetic", "countdown", "exact", "numeric"])
    XCTAssertEqual(try VerifierRegistry.verifier(named: "numeric").name, "numeric")
    XCTAssertThrowsError(try VerifierRegistry.verifier(named: "fuzzy")) { error in
      XCTAssertEqual("\(error)", "unknown verifier \"fuzzy\"; known verifiers: arithmetic, countdown, exact, numeric")
    }
    XCTAssertEqual(VerifierRegistry.reward(problem: problem("1.0", nil), completion: "1"), 0, "nil means exact")
    XCTAssertEqual(VerifierRegistry.reward(problem: problem("1.0", "numeric"), completion: "1"), 1)
    XCTAssertEqual(VerifierRegistry.reward(problem: problem("1", "fuzzy"), completion: "1"), 0)
  }

  func testProblemCodableRoundTripAndOptionalFields() throws {
    let p = Problem(prompt: "2,5:10=", answer: "2*5", verifier: "countdown", metadata: ["target": "10"])
    XCTAssertEqual(try JSONDecoder().decode(Problem.self, from: JSONEncoder().encode(p)), p)
    let minimal = try JSONDecoder().decode(Problem.self, from: Data(#"{"prompt":"a","answer":"b"}"#.utf8))
    XCTAssertEqual(minimal, Problem(prompt: "a", answer: "b"))
  }
}
