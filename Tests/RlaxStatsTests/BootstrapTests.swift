import XCTest
import RlaxStats

/// The two-stage bootstrap against cases with known answers: degenerate data, the normal
/// approximation for one seed, and a design where only the seed stage varies.
final class BootstrapTests: XCTestCase {
  func testConstantDataGivesAZeroWidthIntervalAtTheConstant() throws {
    let interval = try Bootstrap.meanInterval([[0.375, 0.375, 0.375], [0.375, 0.375, 0.375]], seed: 1)
    XCTAssertEqual(interval, Interval(estimate: 0.375, lower: 0.375, upper: 0.375, level: 0.95))
  }

  func testOneSeedMatchesTheNormalInterval() throws {
    // 1000 problems uniform on [0, 1): mean 1/2, sd 1/sqrt(12). For one seed only the problem
    // stage varies, and the percentile interval should be close to mean ± 1.96 sd / sqrt(n).
    var generator = SeededGenerator(seed: 11)
    let n = 1_000
    let values = (0..<n).map { _ in Double(generator.next() >> 11) * 0x1p-53 }
    let analyticalHalfWidth = 1.96 * (1 / 12.0).squareRoot() / Double(n).squareRoot()  // 0.0179
    let interval = try Bootstrap.meanInterval([values], seed: 5)

    XCTAssertEqual(interval.estimate, values.reduce(0, +) / Double(n), accuracy: 1e-12)
    XCTAssertEqual(interval.estimate, 0.5, accuracy: 2 * analyticalHalfWidth, "the sample is what it claims to be")
    XCTAssertEqual(interval.upper - interval.lower, 2 * analyticalHalfWidth, accuracy: 0.15 * 2 * analyticalHalfWidth)
    XCTAssertEqual(interval.lower, interval.estimate - analyticalHalfWidth, accuracy: 0.15 * analyticalHalfWidth)
    XCTAssertEqual(interval.upper, interval.estimate + analyticalHalfWidth, accuracy: 0.15 * analyticalHalfWidth)
  }

  func testSeedsAreResampled() throws {
    // Seed 0 scores 0 on every problem, seed 1 scores 1. Problem draws change nothing; seed draws
    // give (0, 0), (0, 1), (1, 0), (1, 1) with mean 0, 1/2, 1/2, 1, so a quarter of the resamples
    // have mean 0 and a quarter mean 1, and the 2.5% and 97.5% quantiles are 0 and 1. A bootstrap
    // of the 6 values pooled would rarely draw all zeros (1 in 64) and give a narrower interval.
    let interval = try Bootstrap.meanInterval([[0, 0, 0], [1, 1, 1]], seed: 2)
    XCTAssertEqual(interval, Interval(estimate: 0.5, lower: 0, upper: 1, level: 0.95))
  }

  func testIdenticalArmsDifferByExactlyZero() throws {
    let arm = [[0.5, 0.25, 1, 0], [0.75, 0.5, 0, 1], [1, 0.125, 0.5, 0.5]]
    let interval = try Bootstrap.pairedDifferenceInterval(a: arm, b: arm, seed: 9)
    XCTAssertEqual(interval, Interval(estimate: 0, lower: 0, upper: 0, level: 0.95))
  }

  func testPairingCancelsWhatTheArmsShare() throws {
    // a is b plus 1/4 on every problem of every seed: however spread b is, the difference is not.
    let b = [[0.5, 0.25, 0, 0.125], [0.75, 0.5, 0, 0.625], [0.5, 0.125, 0.25, 0.5]]
    let a = b.map { $0.map { $0 + 0.25 } }
    let interval = try Bootstrap.pairedDifferenceInterval(a: a, b: b, level: 0.9, seed: 9)
    XCTAssertEqual(interval, Interval(estimate: 0.25, lower: 0.25, upper: 0.25, level: 0.9))
    let unpaired = try Bootstrap.meanInterval(a, seed: 9)
    XCTAssertGreaterThan(unpaired.upper - unpaired.lower, 0.1, "a alone is spread out")
  }

  func testTheSeedDeterminesTheInterval() throws {
    let data = [[0.1, 0.9, 0.4, 0.7, 0.3], [0.6, 0.2, 0.8, 0.5, 0.0], [0.9, 0.4, 0.6, 0.1, 0.3]]
    let first = try Bootstrap.meanInterval(data, resamples: 2_000, seed: 100)
    XCTAssertEqual(try Bootstrap.meanInterval(data, resamples: 2_000, seed: 100), first)
    let other = try Bootstrap.meanInterval(data, resamples: 2_000, seed: 101)
    XCTAssertNotEqual(other, first)
    XCTAssertEqual(other.estimate, first.estimate)
    let width = first.upper - first.lower
    XCTAssertEqual(other.lower, first.lower, accuracy: 0.1 * width, "another seed moves the ends only a little")
    XCTAssertEqual(other.upper, first.upper, accuracy: 0.1 * width)
  }
}
