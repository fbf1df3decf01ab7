import Foundation

/// Deterministic random numbers for initialisation (SplitMix64 with Box-Muller normals), so
/// a seed gives the same weights on every machine.
public struct ModelRNG: RandomNumberGenerator, Sendable {
  public var state: UInt64
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1) with 53 random bits.
  public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

  public mutating func normal(count: Int, std: Float) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    var i = 0
    while i < count {
      let u1 = max(uniform(), 1e-300), u2 = uniform()
      let r = (-2 * Foundation.log(u1)).squareRoot()
      out[i] = Float(r * Foundation.cos(2 * .pi * u2)) * std
      if i + 1 < count { out[i + 1] = Float(r * Foundation.sin(2 * .pi * u2)) * std }
      i += 2
    }
    return out
  }
}
