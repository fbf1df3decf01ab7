import XCTest
import RlaxStats

/// Student t critical values against published tables, and the learning-curve band built on them.
final class MeanBandTests: XCTestCase {
  func testTQuantilesMatchPublishedTables() {
    // Two-sided 95% (upper 0.025) critical values as printed in standard t tables.
    let published: [(df: Int, t: Double)] = [
      (1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (30, 2.042),
      (40, 2.021), (60, 2.000), (120, 1.980),
    ]
    for (df, t) in published {
      XCTAssertEqual(StudentT.criticalValue95(degreesOfFreedom: df), t, accuracy: 5e-4, "df \(df)")
    }
    XCTAssertEqual(StudentT.criticalValue95(degreesOfFreedom: 1_000_000), 1.95996, accuracy: 1e-5, "the normal's")
  }

  func testTQuantilesDecreaseAcrossTheTableEdge() {
    for df in 1..<100 {
      XCTAssertGreaterThan(StudentT.criticalValue95(degreesOfFreedom: df), StudentT.criticalValue95(degreesOfFreedom: df + 1),
                           "df \(df)")
    }
  }

  func testBandOverThreeSeedsUsesTheCommonPrefix() throws {
    // The middle curve stops after 2 steps, so the band has 2.
    // Step 0: 1, 3, 2 -> mean 2, sd 1; step 1: 2, 4, 6 -> mean 4, sd 2.
    // Half-width t(0.975, 2) * sd / sqrt(3) with t = 4.303: 2.4841 and 4.9683.
    let band = try MeanBand(curves: [[1, 2, 3], [3, 4], [2, 6, 9]])
    XCTAssertEqual(band.seeds, 3)
    XCTAssertEqual(band.mean, [2, 4])
    for (actual, expected) in zip(band.lower + band.upper, [2 - 2.4841, 4 - 4.9683, 2 + 2.4841, 4 + 4.9683]) {
      XCTAssertEqual(actual, expected, accuracy: 1e-3)
    }
  }

  func testOneSeedGivesAZeroWidthBand() throws {
    let band = try MeanBand(curves: [[0.25, 0.5, 0.75]])
    XCTAssertEqual(band.seeds, 1)
    XCTAssertEqual(band.mean, [0.25, 0.5, 0.75])
    XCTAssertEqual(band.lower, band.mean)
    XCTAssertEqual(band.upper, band.mean)
  }

  func testIdenticalSeedsGiveAZeroWidthBand() throws {
    let band = try MeanBand(curves: [[1, 2], [1, 2], [1, 2], [1, 2]])
    XCTAssertEqual(band.lower, [1, 2])
    XCTAssertEqual(band.upper, [1, 2])
  }
}
