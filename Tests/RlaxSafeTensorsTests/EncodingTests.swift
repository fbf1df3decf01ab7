import XCTest
import RlaxTestSupport
@testable import RlaxSafeTensors

final class EncodingTests: XCTestCase {
  /// The header is exactly the documented layout: `__metadata__` first with sorted keys,
  /// then the tensors in write order, compact, space-padded.
  func testExactHeaderLayout() throws {
    let tensors = [
      SafeTensor(name: "w", shape: [2], floats: [1, 2]),
      SafeTensor(name: "b", shape: [], int32s: [5]),
    ]
    let bytes = try SafeTensors.encode(tensors, metadata: ["z": "1", "a": "2", "é": "3", "B": "4"])
    var json = #"{"__metadata__":{"B":"4","a":"2","z":"1","é":"3"},"#
      + #""w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
      + #""b":{"dtype":"I32","shape":[],"data_offsets":[8,12]}}"#
    while (8 + json.utf8.count) % 8 != 0 { json += " " }
    XCTAssertEqual(bytes, RawFile.bytes(header: json, data: f32Bytes([1, 2]) + [5, 0, 0, 0]))
  }

  /// Same input, same bytes: twice in memory, twice on disk, and whatever the history of
  /// the metadata dictionary (Swift randomizes dictionary iteration order).
  func testOutputIsByteForByteReproducible() throws {
    var forward: [String: String] = [:]
    var backward: [String: String] = [:]
    backward.reserveCapacity(1000)
    let keys = (0..<50).map { "key\($0)" }
    for key in keys { forward[key] = "v" + key }
    for key in keys.reversed() { backward[key] = "v" + key }
    let first = try SafeTensors.encode(sampleTensors(), metadata: forward, checksums: true)
    XCTAssertEqual(first, try SafeTensors.encode(sampleTensors(), metadata: backward, checksums: true))

    let directory = try scratchDirectory("st-determinism")
    let one = directory.appendingPathComponent("one.safetensors")
    let two = directory.appendingPathComponent("two.safetensors")
    try SafeTensors.write(sampleTensors(), metadata: forward, checksums: true, to: one)
    try SafeTensors.write(sampleTensors(), metadata: backward, checksums: true, to: two)
    XCTAssertEqual(try Data(contentsOf: one), try Data(contentsOf: two))
    XCTAssertEqual(Array(try Data(contentsOf: one)), first)
  }

  /// 8 + header length is a multiple of 8 whatever the header's natural length, the padding
  /// is spaces only, and there is never a whole 8 bytes of it.
  func testHeaderIsPaddedToEightBytes() throws {
    for nameLength in 1...17 {
      let bytes = try SafeTensors.encode([SafeTensor(name: String(repeating: "n", count: nameLength), shape: [1], floats: [3])])
      let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
      XCTAssertEqual(bytes[4..<8], [0, 0, 0, 0])
      XCTAssertEqual((8 + length) % 8, 0, "name length \(nameLength)")
      let header = bytes[8..<(8 + length)]
      let closing = try XCTUnwrap(header.lastIndex(of: UInt8(ascii: "}")))
      XCTAssertLessThan(header.endIndex - closing - 1, 8)
      XCTAssertTrue(header[(closing + 1)...].allSatisfy { $0 == UInt8(ascii: " ") })
      XCTAssertEqual(bytes.count, 8 + length + 4, "the data section is just the tensor")
    }
  }

  /// Control characters in names and metadata are escaped so the header stays valid JSON.
  func testEscaping() throws {
    XCTAssertEqual(HeaderWriter.quoted("a\"b\\c\n\u{01}\u{1F}é"), #""a\"b\\c\n\u0001\u001fé""#)
    let name = "tab\there \u{0}nul"
    let decoded = try SafeTensors.decode(bytes: try SafeTensors.encode([SafeTensor(name: name, shape: [], floats: [1])],
                                                                       metadata: ["k\u{7}": "\r\n"]))
    XCTAssertEqual(decoded.tensors.map(\.name), [name])
    XCTAssertEqual(decoded.metadata, ["k\u{7}": "\r\n"])
  }
}
