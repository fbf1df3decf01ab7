import XCTest
@testable import RlaxSafeTensors

/// Every way a header can be wrong gives a `SafeTensorsError` that names the file and says
/// what was expected and what was found.
final class MalformedInputTests: XCTestCase {
  let source = "bad.safetensors"

  /// Decodes a hand-built file with `header` and `data`.
  func decode(_ header: String, _ data: [UInt8] = []) throws -> SafeTensors.Contents {
    try SafeTensors.decode(bytes: RawFile.bytes(header: header, data: data), source: source)
  }

  /// A header with one F32 entry for "t" whose fields are `fields` (raw JSON), and 8 data bytes.
  func decodeEntry(_ fields: String) throws -> SafeTensors.Contents {
    try decode(#"{"t":{"# + fields + "}}", f32Bytes([1, 2]))
  }

  func testFileShorterThanTheLengthPrefix() {
    for count in 0..<8 {
      assertSafeTensorsError(.truncated, [source, "\(count) bytes", "8-byte header length"]) {
        try SafeTensors.decode(bytes: [UInt8](repeating: 0, count: count), source: source)
      }
    }
  }

  func testHeaderLengthPastTheEnd() {
    let header = #"{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
    let bytes = RawFile.bytes(claimedLength: 1234, header: header, data: [1])
    assertSafeTensorsError(.truncated, [source, "header length 1234 but the file has \(bytes.count - 8) bytes after the length prefix"]) {
      try SafeTensors.decode(bytes: bytes, source: source)
    }
    // A length whose top bit is set must not wrap around to something small.
    assertSafeTensorsError(.truncated, ["header length 18446744073709551615"]) {
      try SafeTensors.decode(bytes: RawFile.bytes(claimedLength: .max, header: header, data: [1]), source: source)
    }
  }

  func testHeaderNotJSONOrNotAnObject() {
    assertSafeTensorsError(.malformed, [source, "not valid JSON"]) { try decode(#"{"t": {"dtype": "#) }
    assertSafeTensorsError(.malformed, [source, "not valid JSON"]) { try decode("") }
    assertSafeTensorsError(.malformed, ["an array", "not a JSON object"]) { try decode("[1, 2]") }
    assertSafeTensorsError(.malformed, ["a string", "not a JSON object"]) { try decode(#""text""#) }
    assertSafeTensorsError(.malformed, ["not valid UTF-8"]) {
      var bytes = RawFile.bytes(header: #"{"x":1}"#)
      bytes[10] = 0xFF
      return try SafeTensors.decode(bytes: bytes, source: source)
    }
  }

  func testBadMetadata() {
    assertSafeTensorsError(.malformed, ["__metadata__", "an array", "not an object"]) {
      try decode(#"{"__metadata__":["a"]}"#)
    }
    assertSafeTensorsError(.malformed, ["__metadata__ value for \"step\"", "the number 3", "not a string"]) {
      try decode(#"{"__metadata__":{"ok":"x","step":3}}"#)
    }
  }

  func testMissingOrMistypedEntryFields() {
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "a string", "not an object"]) { try decode(#"{"t":"F32"}"#) }
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "no \"dtype\""]) {
      try decodeEntry(#""shape":[2],"data_offsets":[0,8]"#)
    }
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "no \"shape\""]) {
      try decodeEntry(#""dtype":"F32","data_offsets":[0,8]"#)
    }
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "no \"data_offsets\""]) {
      try decodeEntry(#""dtype":"F32","shape":[2]"#)
    }
    assertSafeTensorsError(.malformed, ["dtype is the number 5", "not a string"]) {
      try decodeEntry(#""dtype":5,"shape":[2],"data_offsets":[0,8]"#)
    }
    assertSafeTensorsError(.malformed, ["shape is a string", "not an array of integers"]) {
      try decodeEntry(#""dtype":"F32","shape":"2","data_offsets":[0,8]"#)
    }
    assertSafeTensorsError(.malformed, ["shape has the number 2.5", "integer"]) {
      try decodeEntry(#""dtype":"F32","shape":[2.5],"data_offsets":[0,8]"#)
    }
    assertSafeTensorsError(.malformed, ["shape has the number 2", "integer"]) {  // 2.0 is a float in JSON terms
      try decodeEntry(#""dtype":"F32","shape":[2.0],"data_offsets":[0,8]"#)
    }
    assertSafeTensorsError(.malformed, ["data_offsets has a boolean"]) {
      try decodeEntry(#""dtype":"F32","shape":[2],"data_offsets":[true,8]"#)
    }
    assertSafeTensorsError(.malformed, ["data_offsets has null"]) {
      try decodeEntry(#""dtype":"F32","shape":[2],"data_offsets":[null,8]"#)
    }
    assertSafeTensorsError(.malformed, ["data_offsets [8] has 1 numbers, not 2"]) {
      try decodeEntry(#""dtype":"F32","shape":[2],"data_offsets":[8]"#)
    }
  }

  func testUnknownDType() {
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "unknown dtype \"F128\"", "F32"]) {
      try decodeEntry(#""dtype":"F128","shape":[2],"data_offsets":[0,8]"#)
    }
    // Sub-byte types are refused rather than misread (their size is not count * byteSize).
    assertSafeTensorsError(.malformed, ["unknown dtype \"F4\""]) {
      try decodeEntry(#""dtype":"F4","shape":[16],"data_offsets":[0,8]"#)
    }
  }

  func testNegativeDimension() {
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "shape [-2] has a negative dimension"]) {
      try decodeEntry(#""dtype":"F32","shape":[-2],"data_offsets":[0,8]"#)
    }
  }

  func testSizeDisagreesWithDTypeAndShape() {
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "data_offsets [0, 8] hold 8 bytes", "dtype F32 and shape [2, 2] make 16"]) {
      try decodeEntry(#""dtype":"F32","shape":[2,2],"data_offsets":[0,8]"#)
    }
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "shape [4611686018427387904, 4] is too large"]) {
      try decodeEntry(#""dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]"#)
    }
  }

  func testOffsetsOutOfRange() {
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "data_offsets has 18446744073709551615", "out of range"]) {
      try decodeEntry(#""dtype":"F32","shape":[2],"data_offsets":[18446744073709551615,8]"#)
    }
    assertSafeTensorsError(.malformed, ["tensor \"t\"", "out of range"]) {
      try decodeEntry(#""dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999999]"#)
    }
    assertSafeTensorsError(.malformed, ["data_offsets [-8, 0] are negative"]) {
      try decodeEntry(#""dtype":"F32","shape":[2],"data_offsets":[-8,0]"#)
    }
    assertSafeTensorsError(.malformed, ["data_offsets [8, 0] end before they begin"]) {
      try decodeEntry(#""dtype":"F32","shape":[2],"data_offsets":[8,0]"#)
    }
    // Offsets that are consistent but run past the data section.
    assertSafeTensorsError(.truncated, ["tensor \"t\"", "data_offsets [0, 400]", "only 8 bytes", "out of range"]) {
      try decodeEntry(#""dtype":"F32","shape":[100],"data_offsets":[0,400]"#)
    }
  }

  func testOverlapGapAndTrailingBytes() {
    let data = [UInt8](repeating: 1, count: 16)
    assertSafeTensorsError(.malformed, ["tensor \"b\"", "[4, 12]", "overlap tensor \"a\"", "[0, 8]"]) {
      try decode(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data)
    }
    assertSafeTensorsError(.malformed, ["tensor \"b\"", "overlap tensor \"a\""]) {  // exact duplicate range
      try decode(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#, data)
    }
    assertSafeTensorsError(.malformed, ["tensor \"b\"", "gap of 4 bytes after data offset 4"]) {
      try decode(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data)
    }
    assertSafeTensorsError(.malformed, ["tensor \"a\"", "gap of 8 bytes after data offset 0"]) {
      try decode(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data)
    }
    assertSafeTensorsError(.malformed, ["data section has 16 bytes but the tensors cover only 8", "8 bytes unaccounted"]) {
      try decode(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data)
    }
    assertSafeTensorsError(.malformed, ["data section has 16 bytes but the tensors cover only 0"]) { try decode("{}", data) }
  }

  /// Flipping any byte of a valid file gives either a valid file or an error, never a crash;
  /// every flip in the data section is caught by the checksums.
  func testSingleByteCorruptionNeverCrashes() throws {
    let original = try SafeTensors.encode(sampleTensors(), metadata: ["a": "b"], checksums: true)
    let dataStart = original.count - sampleTensors().reduce(0) { $0 + $1.bytes.count }
    var kinds: [String: Int] = [:]
    for position in original.indices {
      for mask: UInt8 in [0x01, 0x80, 0xFF] {
        var bytes = original
        bytes[position] ^= mask
        do {
          _ = try SafeTensors.decode(bytes: bytes, source: source)
          XCTAssertLessThan(position, dataStart, "a flipped data byte went unnoticed")
          kinds["ok", default: 0] += 1
        } catch let error as SafeTensorsError {
          XCTAssertTrue(error.description.hasPrefix(source + ": "), "\(error)")
          if position >= dataStart { XCTAssertEqual(error.kind, .checksumMismatch, "\(error)") }
          kinds["\(error.kind)", default: 0] += 1
        }
      }
    }
    XCTAssertGreaterThan(kinds["malformed", default: 0], 0, "\(kinds)")
    XCTAssertGreaterThan(kinds["truncated", default: 0], 0, "\(kinds)")
  }
}
