import XCTest
import RlaxTasks

final class PassAtKTests: XCTestCase {
  func testHandComputedValues() {
    XCTAssertEqual(PassAtK.unbiased(n: 2, c: 1, k: 1), 0.5, accuracy: 1e-12)
    // 1 - C(3,2)/C(5,2) = 1 - 3/10
    XCTAssertEqual(PassAtK.unbiased(n: 5, c: 2, k: 2), 0.7, accuracy: 1e-12)
    XCTAssertEqual(PassAtK.unbiased(n: 16, c: 0, k: 4), 0)
    XCTAssertEqual(PassAtK.unbiased(n: 16, c: 16, k: 4), 1)
    // pass@1 is the fraction correct: 3/10.
    XCTAssertEqual(PassAtK.unbiased(n: 10, c: 3, k: 1), 0.3, accuracy: 1e-12)
    // n - c < k: every k-subset has a correct sample.
    XCTAssertEqual(PassAtK.unbiased(n: 5, c: 4, k: 2), 1)
  }

  func testMatchesBruteForceOverSubsets() {
    for n in 1...8 {
      for c in 0...n {
        for k in 1...n {
          // Samples 0..<c are the correct ones; count k-subsets (bitmasks) hitting one.
          var subsets = 0, hits = 0
          for mask in 0..<(1 << n) where mask.nonzeroBitCount == k {
            subsets += 1
            if mask & ((1 << c) - 1) != 0 { hits += 1 }
          }
          XCTAssertEqual(PassAtK.unbiased(n: n, c: c, k: k), Double(hits) / Double(subsets), accuracy: 1e-12,
                         "n=\(n) c=\(c) k=\(k)")
        }
      }
    }
  }

  func testStableForLargeN() {
    // C(1000, 500) overflows any float; the product form does not.
    let value = PassAtK.unbiased(n: 1_000, c: 1, k: 500)
    XCTAssertEqual(value, 0.5, accuracy: 1e-12)  // one correct sample is in half of the subsets
  }

  func testMeanOverProblems() {
    // n=5, k=2: c=2 -> 0.7, c=0 -> 0, c=5 -> 1; mean = 1.7 / 3
    XCTAssertEqual(PassAtK.mean(n: 5, correct: [2, 0, 5], k: 2), 1.7 / 3, accuracy: 1e-12)
  }
}
