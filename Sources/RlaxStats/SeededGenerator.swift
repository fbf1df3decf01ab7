/// SplitMix64 (Steele, Lea & Flood 2014) as a `RandomNumberGenerator`: every resample in this
/// module draws from it, so a reported interval or p-value is reproduced exactly by its seed on
/// any machine and Swift version. Index draws use ``next(below:)`` rather than the standard
/// library's `random(in:using:)`, whose consumption of a generator is not guaranteed to stay fixed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator whose whole output is determined by `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 uniformly distributed bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform integer in `0..<bound`, without modulo bias: draws in the incomplete last block of
  /// `bound` values are rejected and redrawn.
  ///
  /// - Precondition: `bound > 0`.
  public mutating func next(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive (found \(bound))")
    let n = UInt64(bound)
    let rejectBelow = (0 &- n) % n  // 2^64 mod n: the size of the biased block
    while true {
      let x = next()
      if x >= rejectBelow { return Int(x % n) }
    }
  }
}
