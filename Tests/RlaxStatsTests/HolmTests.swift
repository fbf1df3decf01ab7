import XCTest
import RlaxStats

/// Holm's adjustment on worked examples.
final class HolmTests: XCTestCase {
  func testWorkedExample() throws {
    // Sorted: 0.005 (#4), 0.01 (#1), 0.03 (#3), 0.04 (#2), multiplied by 4, 3, 2, 1:
    //   0.02, 0.03, 0.06, 0.04 -> running maximum 0.02, 0.03, 0.06, 0.06
    // #2's 0.04 is raised to 0.06: it cannot be rejected before #3, whose p is smaller.
    let holm = try Holm([0.01, 0.04, 0.03, 0.005])
    XCTAssertEqual(holm.pValues, [0.01, 0.04, 0.03, 0.005])
    for (adjusted, expected) in zip(holm.adjusted, [0.03, 0.06, 0.06, 0.02]) {
      XCTAssertEqual(adjusted, expected, accuracy: 1e-15)
    }
    // At 0.05 the step-down procedure rejects #4 (0.005 <= 0.05/4) and #1 (0.01 <= 0.05/3),
    // then stops at #3 (0.03 > 0.05/2), so #2 is kept too although 0.04 <= 0.05/1.
    XCTAssertEqual(holm.rejected(alpha: 0.05), [true, false, false, true])
    XCTAssertEqual(holm.rejected(alpha: 0.01), [false, false, false, false])
  }

  func testCappedAtOne() throws {
    // 3 * 0.3 = 0.9, 2 * 0.6 = 1.2 -> 1, 1 * 0.9 = 0.9 -> running maximum 1.
    let holm = try Holm([0.6, 0.3, 0.9])
    XCTAssertEqual(holm.adjusted[0], 1)
    XCTAssertEqual(holm.adjusted[1], 0.9, accuracy: 1e-15)
    XCTAssertEqual(holm.adjusted[2], 1)
  }

  func testAdjustedValuesKeepTheOrderOfTheRawOnes() throws {
    var generator = SeededGenerator(seed: 3)
    let pValues = (0..<50).map { _ in Double(generator.next() >> 11) * 0x1p-53 }
    let holm = try Holm(pValues)
    for i in pValues.indices {
      XCTAssertGreaterThanOrEqual(holm.adjusted[i], pValues[i], "never below the raw value")
      XCTAssertLessThanOrEqual(holm.adjusted[i], 1)
      for j in pValues.indices where pValues[i] < pValues[j] {
        XCTAssertLessThanOrEqual(holm.adjusted[i], holm.adjusted[j], "p[\(i)] < p[\(j)]")
      }
    }
  }

  func testSingleTestAndEmptyFamilyAreUnchanged() throws {
    XCTAssertEqual(try Holm([0.04]).adjusted, [0.04])
    XCTAssertEqual(try Holm([]).adjusted, [])
  }
}
