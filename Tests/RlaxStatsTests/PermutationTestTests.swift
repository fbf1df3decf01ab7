import XCTest
import RlaxStats

/// The sign-flip test against p-values enumerated by hand, and its Monte Carlo path against the
/// exact one.
final class PermutationTestTests: XCTestCase {
  func testThreeDifferencesEnumeratedByHand() throws {
    // d = [1, 2, 3], observed sum 6. The 8 sign assignments sum to
    //   +++ 6   ++- 0   +-+ 2   -++ 4   +-- -4   -+- -2   --+ 0   --- -6
    // and |sum| >= 6 for 2 of them (+++ and ---): p = 2/8.
    let result = try PermutationTest.signFlip([1, 2, 3], seed: 0)
    XCTAssertEqual(result, PermutationResult(observed: 2, pValue: 0.25, exact: true, permutations: 8))
  }

  func testZeroDifferencesAreSetAsideAndTiesCount() throws {
    // d = [2, 1, -1, 0], observed sum 2 (mean 0.5). The zero flips to itself, so the 8 assignments
    // of the nonzero (2, 1, -1) decide:
    //   +++ 2   ++- 4   +-+ 0   -++ -2   +-- 2   -+- -4   --+ 0   --- -2
    // |sum| >= 2 for 6 of them, four of which tie the observed 2 exactly: p = 6/8.
    let result = try PermutationTest.signFlip([2, 1, -1, 0], seed: 0)
    XCTAssertEqual(result, PermutationResult(observed: 0.5, pValue: 0.75, exact: true, permutations: 8))
    // As a paired test of arms a and b with those differences, the same.
    XCTAssertEqual(try PermutationTest.paired(a: [3, 1, 0, 5], b: [1, 0, 1, 5], seed: 0), result)
  }

  func testTiesSurviveRounding() throws {
    // d = [0.1, 0.2, -0.3, 0.3] is [1, 2, -3, 3] / 10, sum 3/10. Each sum is ±1 ±2 (3, 1, -1 or -3)
    // plus ±3 ±3 (6, 0, 0 or -6) in tenths; |sum| >= 3 for 4 + 2 + 2 + 4 = 12 of the 16.
    // In doubles 0.1 + 0.2 - 0.3 + 0.3 is 0.30000000000000004 while some tied sums come out 0.3,
    // so comparing bits alone would count only 10.
    let result = try PermutationTest.signFlip([0.1, 0.2, -0.3, 0.3], seed: 0)
    XCTAssertEqual(result.pValue, 12.0 / 16.0)
  }

  func testAllZeroDifferencesGiveOne() throws {
    let result = try PermutationTest.signFlip([0, 0, 0], seed: 0)
    XCTAssertEqual(result, PermutationResult(observed: 0, pValue: 1, exact: true, permutations: 1))
  }

  func testMonteCarloAgreesWithExactForTwelve() throws {
    let d = [0.5, 1.2, -0.3, 0.8, 2.1, -0.7, 0.4, 1.5, -1.1, 0.9, 0.6, -0.2]
    // Enumerated independently (Python, exact rational arithmetic over all 4096 assignments):
    // 452 have |sum| >= 5.7.
    let exact = try PermutationTest.signFlip(d, seed: 0)
    XCTAssertTrue(exact.exact)
    XCTAssertEqual(exact.permutations, 4096)
    XCTAssertEqual(exact.pValue, 452.0 / 4096.0)
    XCTAssertEqual(exact.observed, 5.7 / 12, accuracy: 1e-12)

    let resamples = 10_000
    let sampled = try PermutationTest.signFlip(d, resamples: resamples, seed: 42, forceMonteCarlo: true)
    XCTAssertFalse(sampled.exact)
    XCTAssertEqual(sampled.permutations, resamples)
    XCTAssertEqual(sampled.observed, exact.observed)
    // The sampled count is binomial: standard error sqrt(p (1 - p) / 10000) = 0.0031 at p = 0.110.
    // Four standard errors (plus the estimator's (1 - p) / 10001 bias, 0.0001) is 0.0126.
    XCTAssertEqual(sampled.pValue, exact.pValue, accuracy: 0.0126)
    XCTAssertEqual(try PermutationTest.signFlip(d, resamples: resamples, seed: 42, forceMonteCarlo: true), sampled,
                   "the same seed samples the same assignments")
  }

  func testMonteCarloIsUsedAboveTheLimit() throws {
    // 21 positive differences: the observed assignment and its mirror are the only ones as extreme
    // (p = 2 / 2^21), so almost no sampled assignment counts and p is close to 1 / (resamples + 1).
    let d = [Double](repeating: 1, count: PermutationTest.exactLimit + 1)
    let result = try PermutationTest.signFlip(d, resamples: 999, seed: 1)
    XCTAssertFalse(result.exact)
    XCTAssertEqual(result.permutations, 999)
    XCTAssertEqual(result.pValue, 1.0 / 1000.0)  // P(any of 999 draws is all-equal) = 999 * 2^-20 < 0.001
  }
}
