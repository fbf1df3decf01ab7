/// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor
/// 0xFFFFFFFF, so `crc32c("123456789") == 0xE3069283`. It is the same checksum the C weight
/// stores keep (Plugins/shared/store_common.h), so files from either side verify on the other.
///
/// Table-driven slicing-by-8: checkpoints are gigabytes, and eight table lookups per 8 bytes
/// is several times faster than the byte-at-a-time loop while staying portable Swift.
public enum CRC32C {
  /// Eight 256-entry tables back to back; table k advances a byte through k further zero bytes.
  static let tables: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
      var c = UInt32(i)
      for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
      t[i] = c
    }
    for k in 1..<8 {
      for i in 0..<256 {
        let previous = t[(k - 1) * 256 + i]
        t[k * 256 + i] = (previous >> 8) ^ t[Int(previous & 0xFF)]
      }
    }
    return t
  }()

  /// The CRC-32C of `bytes`; with `previous`, of the bytes that gave `previous` followed by
  /// these (so a stream is checksummed chunk by chunk).
  public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
    var crc: UInt32 = ~previous
    tables.withUnsafeBufferPointer { t in
      let count = bytes.count
      var i = 0
      while count - i >= 8 {
        // Assemble the words bytewise: no alignment assumption and host-order independent.
        let lo = (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
          | UInt32(bytes[i + 3]) << 24) ^ crc
        let hi = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16
          | UInt32(bytes[i + 7]) << 24
        let a = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
        let b = t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
        let c = t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
        let d = t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
        crc = a ^ b ^ c ^ d
        i += 8
      }
      while i < count {
        crc = t[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
        i += 1
      }
    }
    return ~crc
  }

  /// Eight lowercase hex digits, the form the metadata stores.
  static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
  }

  /// The value of exactly eight hex digits (either case), else nil.
  static func parseHex(_ text: String) -> UInt32? {
    guard text.utf8.count == 8, text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
    // UInt32(_:radix:) alone would accept a leading "+" or "-".
    guard text.allSatisfy(\.isHexDigit) else { return nil }
    return UInt32(text, radix: 16)
  }
}
