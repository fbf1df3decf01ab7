/// 64-bit FNV-1a over UTF-8 bytes. The train/held-out split is a function of this hash, so it
/// must never change and must not depend on the process: Swift's `Hasher` is randomly seeded per
/// run and would put a problem in a different split every time.
enum FNV1a {
  static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
  static let prime: UInt64 = 0x0000_0100_0000_01B3

  static func hash(_ text: String) -> UInt64 {
    var hash = offsetBasis
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash &*= prime
    }
    return hash
  }
}
