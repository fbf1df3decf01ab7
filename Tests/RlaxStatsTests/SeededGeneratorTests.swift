import XCTest
import RlaxStats

/// The generator reproduces the SplitMix64 reference outputs, on which every seeded result rests.
final class SeededGeneratorTests: XCTestCase {
  func testMatchesTheSplitMix64ReferenceOutputs() {
    // The values of Vigna's splitmix64.c (also Java's SplittableRandom test vectors) for seed 1234567.
    var generator = SeededGenerator(seed: 1_234_567)
    XCTAssertEqual([generator.next(), generator.next(), generator.next()],
                   [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
  }

  func testBoundedDrawsCoverTheRangeEvenly() {
    var generator = SeededGenerator(seed: 8)
    var counts = [Int](repeating: 0, count: 6)
    for _ in 0..<60_000 { counts[generator.next(below: 6)] += 1 }
    // Each count is binomial(60000, 1/6): mean 10000, standard deviation 91; allow 5 of them.
    for count in counts { XCTAssertEqual(Double(count), 10_000, accuracy: 455) }
  }
}
