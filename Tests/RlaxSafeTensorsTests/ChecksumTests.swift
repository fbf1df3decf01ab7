import XCTest
import RlaxTestSupport
@testable import RlaxSafeTensors

final class ChecksumTests: XCTestCase {
  func testCRC32CTestVectors() {
    XCTAssertEqual(SafeTensors.crc32c(Array("123456789".utf8)), 0xE306_9283)
    XCTAssertEqual(SafeTensors.crc32c([]), 0)
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and ascending.
    XCTAssertEqual(SafeTensors.crc32c([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
    XCTAssertEqual(SafeTensors.crc32c([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
    XCTAssertEqual(SafeTensors.crc32c((0..<32).map(UInt8.init)), 0x46DD_794E)
  }

  /// The slicing-by-8 path agrees with the plain bitwise definition at every length and
  /// alignment of the tail.
  func testSlicingMatchesTheBitwiseDefinition() {
    var generator = SystemRandomNumberGenerator()
    for length in 0..<70 {
      let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
      var crc: UInt32 = 0xFFFF_FFFF
      for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
      }
      XCTAssertEqual(SafeTensors.crc32c(bytes), ~crc, "length \(length)")
    }
  }

  func testWriterRecordsChecksumsInTheFileStoreConvention() throws {
    let tensors = sampleTensors() + [SafeTensor(name: "empty", shape: [0], floats: [])]
    let decoded = try SafeTensors.decode(bytes: try SafeTensors.encode(tensors, metadata: ["user": "x"], checksums: true))
    XCTAssertEqual(decoded.metadata["checksum_algorithm"], "crc32c")
    XCTAssertEqual(decoded.metadata["user"], "x")
    XCTAssertEqual(decoded.metadata["checksum.empty"], "00000000")
    for tensor in tensors {
      let expected = String(format: "%08x", SafeTensors.crc32c(tensor.bytes))
      XCTAssertEqual(decoded.metadata["checksum.\(tensor.name)"], expected)
    }
    XCTAssertEqual(decoded.metadata.count, 2 + tensors.count)
  }

  /// Stale checksum keys in the caller's metadata are replaced, not kept or merged.
  func testRewritingReplacesChecksumKeys() throws {
    let stale = ["checksum.gone": "12345678", "checksum.mask": "ffffffff", "checksum_algorithm": "md5", "keep": "1"]
    let decoded = try SafeTensors.decode(bytes: try SafeTensors.encode(sampleTensors(), metadata: stale, checksums: true))
    XCTAssertNil(decoded.metadata["checksum.gone"])
    XCTAssertEqual(decoded.metadata["checksum.mask"], String(format: "%08x", SafeTensors.crc32c([0, 1, 255, 7])))
    XCTAssertEqual(decoded.metadata["checksum_algorithm"], "crc32c")
    XCTAssertEqual(decoded.metadata["keep"], "1")
  }

  func testAFlippedByteIsDetected() throws {
    let url = try scratchDirectory("st-checksum").appendingPathComponent("c.safetensors")
    try SafeTensors.write(sampleTensors(), checksums: true, to: url)
    var bytes = Array(try Data(contentsOf: url))
    let original = SafeTensors.crc32c(sampleTensors()[1].bytes)
    bytes[bytes.count - 4 - 8] ^= 0x10  // the low byte of "layer.step" (42 -> 58)
    try Data(bytes).write(to: url)
    let found = SafeTensors.crc32c(ElementCoding.bytes([Int64(42 ^ 0x10)]))
    assertSafeTensorsError(.checksumMismatch, [url.path, "tensor \"layer.step\"", "checksum mismatch",
                                               String(format: "%08x", original), String(format: "%08x", found)]) {
      try SafeTensors.read(url)
    }
    // Opting out reads the (corrupt) bytes as they are.
    XCTAssertEqual(try SafeTensors.read(url, verifyChecksums: false).tensors[1].int64s, [58])
  }

  func testFilesWithoutChecksumsReadWithVerificationOn() throws {
    XCTAssertEqual(try SafeTensors.decode(bytes: try SafeTensors.encode(sampleTensors()), verifyChecksums: true).tensors,
                   sampleTensors())
  }

  func testBadChecksumMetadata() throws {
    func file(_ metadata: [String: String]) throws -> [UInt8] {
      try SafeTensors.encode([SafeTensor(name: "t", shape: [1], floats: [1])], metadata: metadata)
    }
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "checksum \"xyz\"", "not 8 hex digits"]) {
      try SafeTensors.decode(bytes: try file(["checksum.t": "xyz"]))
    }
    assertSafeTensorsError(.malformed, ["not 8 hex digits"]) {
      try SafeTensors.decode(bytes: try file(["checksum.t": "+1234567"]))
    }
    assertSafeTensorsError(.malformed, ["checksum for \"ghost\"", "not a tensor"]) {
      try SafeTensors.decode(bytes: try file(["checksum.ghost": "00000000"]))
    }
    assertSafeTensorsError(.malformed, ["checksum_algorithm is \"sha1\"", "not \"crc32c\""]) {
      try SafeTensors.decode(bytes: try file(["checksum.t": "00000000", "checksum_algorithm": "sha1"]))
    }
    // Upper-case hex (as some writers emit) verifies too.
    let upper = String(format: "%08X", SafeTensors.crc32c(f32Bytes([1])))
    XCTAssertNoThrow(try SafeTensors.decode(bytes: try file(["checksum.t": upper])))
  }
}

extension ChecksumTests {
  /// A stream checksummed chunk by chunk gives the checksum of the whole (the transport relies on it).
  func testCRC32CContinuesAcrossChunks() {
    let whole = Array("123456789".utf8)
    XCTAssertEqual(whole.withUnsafeBytes { CRC32C.checksum($0) }, 0xE306_9283)
    for cut in 0...whole.count {
      let first = whole[..<cut].withUnsafeBytes { CRC32C.checksum($0) }
      XCTAssertEqual(whole[cut...].withUnsafeBytes { CRC32C.checksum($0, continuing: first) }, 0xE306_9283, "cut at \(cut)")
    }
  }
}
