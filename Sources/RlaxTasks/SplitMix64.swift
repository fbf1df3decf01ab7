/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast generator whose output depends only on
/// the seed. Problem generation uses it instead of Foundation's or the standard library's
/// randomness so a seed reproduces the same problems on every run, machine and Swift version.
/// Bounded draws and shuffles are implemented here too, because the standard library reserves
/// the right to change how `random(in:using:)` and `shuffle(using:)` consume a generator.
struct SplitMix64 {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  /// The next 64 uniformly distributed bits.
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform integer in `0..<bound` (bound >= 1), without modulo bias: draws that fall in the
  /// incomplete last block of `bound` values are rejected and redrawn.
  mutating func next(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive")
    let n = UInt64(bound)
    let rejectBelow = (0 &- n) % n  // 2^64 mod n: the size of the biased block
    while true {
      let x = next()
      if x >= rejectBelow { return Int(x % n) }
    }
  }

  /// A uniform integer in `range` (which must not be empty).
  mutating func next(in range: ClosedRange<Int>) -> Int {
    range.lowerBound + next(below: range.upperBound - range.lowerBound + 1)
  }

  /// Fisher-Yates shuffle with this generator.
  mutating func shuffle<T>(_ array: inout [T]) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
      array.swapAt(i, next(below: i + 1))
    }
  }
}
