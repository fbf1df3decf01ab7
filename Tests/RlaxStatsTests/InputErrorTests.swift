import XCTest
import RlaxStats

/// Input no statistic can be computed from is rejected with a message naming the place, what was
/// expected and what was found.
final class InputErrorTests: XCTestCase {
  private func message(_ body: () throws -> Any) -> String? {
    do {
      _ = try body()
      return nil
    } catch {
      return (error as? StatsInputError)?.description
    }
  }

  func testBootstrapNamesTheBadSeedOrValue() {
    XCTAssertEqual(message { try Bootstrap.meanInterval([], seed: 0) }, "data: expected at least one seed, found none")
    XCTAssertEqual(message { try Bootstrap.meanInterval([[1], []], seed: 0) },
                   "data[1]: expected at least one problem, found none")
    XCTAssertEqual(message { try Bootstrap.meanInterval([[1, .nan]], seed: 0) }, "data[0][1]: expected a finite value, found nan")
    XCTAssertEqual(message { try Bootstrap.meanInterval([[1]], level: 95, seed: 0) },
                   "level: expected a value strictly between 0 and 1, found 95.0")
    XCTAssertEqual(message { try Bootstrap.meanInterval([[1]], resamples: 0, seed: 0) }, "resamples: expected at least 1, found 0")
  }

  func testPairedBootstrapNamesTheShapeThatDiffers() {
    let a: [[Double]] = [[1, 2], [3, 4, 5]]
    XCTAssertEqual(message { try Bootstrap.pairedDifferenceInterval(a: a, b: [[1, 2]], seed: 0) },
                   "b: expected 2 seeds (as in a), found 1")
    XCTAssertEqual(message { try Bootstrap.pairedDifferenceInterval(a: a, b: [[1, 2], [3, 4]], seed: 0) },
                   "b[1]: expected 3 problems (as in a[1]), found 2")
    XCTAssertEqual(message { try Bootstrap.pairedDifferenceInterval(a: a, b: [[1, 2], [3, .infinity, 5]], seed: 0) },
                   "b[1][1]: expected a finite value, found inf")
  }

  func testPermutationTestNamesTheMismatch() {
    XCTAssertEqual(message { try PermutationTest.paired(a: [1, 2, 3], b: [1, 2], seed: 0) },
                   "b: expected 3 observations (as in a), found 2")
    XCTAssertEqual(message { try PermutationTest.signFlip([], seed: 0) }, "differences: expected at least one difference, found none")
    XCTAssertEqual(message { try PermutationTest.signFlip([1, 2], resamples: -5, seed: 0, forceMonteCarlo: true) },
                   "resamples: expected at least 1, found -5")
  }

  func testHolmNamesTheValueThatIsNoProbability() {
    XCTAssertEqual(message { try Holm([0.2, 1.5]) }, "pValues[1]: expected a probability in [0, 1], found 1.5")
    XCTAssertEqual(message { try Holm([.nan]) }, "pValues[0]: expected a probability in [0, 1], found nan")
  }

  func testMeanBandNamesTheEmptyCurve() {
    XCTAssertEqual(message { try MeanBand(curves: []) }, "curves: expected at least one curve, found none")
    XCTAssertEqual(message { try MeanBand(curves: [[1], []]) }, "curves[1]: expected at least one step, found none")
  }

  func testLocalizedDescriptionIsTheMessage() {
    let error: Error = StatsInputError(subject: "level", expected: "a value strictly between 0 and 1", found: "2.0")
    XCTAssertEqual(error.localizedDescription, "level: expected a value strictly between 0 and 1, found 2.0")
  }
}
