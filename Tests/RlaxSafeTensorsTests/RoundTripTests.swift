import XCTest
import RlaxTestSupport
@testable import RlaxSafeTensors

final class RoundTripTests: XCTestCase {
  /// Every dtype, a scalar, zero-size tensors and metadata survive a write and a read, in
  /// the order written.
  func testRoundTripThroughAFile() throws {
    var tensors: [SafeTensor] = [
      SafeTensor(name: "z.f32", shape: [2, 2], floats: [1.5, -0.25, .greatestFiniteMagnitude, .nan]),
      SafeTensor(name: "a.f64", shape: [3], doubles: [.pi, -1e300, 0]),
      SafeTensor(name: "scalar", shape: [], int32s: [-7]),
      SafeTensor(name: "empty.rows", shape: [0, 5], floats: []),
      SafeTensor(name: "i64", shape: [1, 2], int64s: [.min, .max]),
      SafeTensor(name: "empty.vector", dtype: .BF16, shape: [0], bytes: []),
      SafeTensor(name: "bf16", dtype: .BF16, shape: [3], bytes: [0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40]),
      SafeTensor(name: "f16", dtype: .F16, shape: [1], bytes: [0x00, 0x3C]),
      SafeTensor(name: "unicode ✓ \"quoted\"\n", dtype: .I8, shape: [2], bytes: [0x80, 0x7F]),
    ]
    for dtype in SafeTensorsDType.allCases {
      tensors.append(SafeTensor(name: "every.\(dtype.rawValue)", dtype: dtype, shape: [2],
                                bytes: (0..<(2 * dtype.byteSize)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }))
    }
    let metadata = ["format": "pt", "step": "1200", "note": "tabs\tand \"quotes\" and ünïcödé", "": "empty key"]
    let url = try scratchDirectory("st-roundtrip").appendingPathComponent("model.safetensors")

    try SafeTensors.write(tensors, metadata: metadata, to: url)
    let read = try SafeTensors.read(url)

    XCTAssertEqual(read.metadata, metadata)
    XCTAssertEqual(read.tensors.map(\.name), tensors.map(\.name), "read order is write order")
    XCTAssertEqual(read.tensors, tensors)  // byte equality, so NaN payloads are compared too
    XCTAssertEqual(try read.tensors[0].floats.map(\.bitPattern), try tensors[0].floats.map(\.bitPattern))
    XCTAssertEqual(try read.tensors[1].doubles, [.pi, -1e300, 0])
    XCTAssertEqual(try read.tensors[2].int32s, [-7])
    XCTAssertEqual(read.tensors[2].shape, [])
    XCTAssertEqual(try read.tensors[4].int64s, [.min, .max])
    XCTAssertEqual(read.tensors[3].bytes, [])

    // The in-memory pair agrees with the file pair.
    XCTAssertEqual(try SafeTensors.encode(tensors, metadata: metadata), Array(try Data(contentsOf: url)))
    let decoded = try SafeTensors.decode(bytes: try SafeTensors.encode(tensors, metadata: metadata))
    XCTAssertEqual(decoded.tensors, tensors)
    XCTAssertEqual(decoded.metadata, metadata)
  }

  /// No tensors at all is a valid file (`{}` padded), with or without metadata.
  func testEmptyFile() throws {
    let bytes = try SafeTensors.encode([])
    XCTAssertEqual(bytes, RawFile.bytes(header: "{}      "))
    let decoded = try SafeTensors.decode(bytes: bytes)
    XCTAssertTrue(decoded.tensors.isEmpty)
    XCTAssertTrue(decoded.metadata.isEmpty)
    XCTAssertEqual(try SafeTensors.decode(bytes: try SafeTensors.encode([], metadata: ["k": "v"])).metadata, ["k": "v"])
  }

  /// Zero-byte tensors share their offset with a neighbour; none is dropped.
  func testSeveralZeroSizeTensorsAreAllKept() throws {
    let tensors = [
      SafeTensor(name: "b", shape: [0], floats: []),
      SafeTensor(name: "x", shape: [1], floats: [1]),
      SafeTensor(name: "c", shape: [3, 0], floats: []),
      SafeTensor(name: "a", shape: [0, 0], floats: []),
    ]
    let decoded = try SafeTensors.decode(bytes: try SafeTensors.encode(tensors))
    // By offset; zero-byte tensors at the same offset come back by name (documented).
    XCTAssertEqual(decoded.tensors.map(\.name), ["b", "x", "a", "c"])
    XCTAssertEqual(decoded.tensors.map(\.shape), [[0], [1], [0, 0], [3, 0]])
  }

  /// Overwriting an existing file replaces it, and leaves no temporary file behind.
  func testWriteReplacesAtomicallyAndCleansUp() throws {
    let directory = try scratchDirectory("st-atomic")
    let url = directory.appendingPathComponent("ckpt.safetensors")
    try SafeTensors.write(sampleTensors(), to: url)
    try SafeTensors.write([SafeTensor(name: "only", shape: [1], floats: [9])], metadata: ["v": "2"], to: url)
    let read = try SafeTensors.read(url)
    XCTAssertEqual(read.tensors.map(\.name), ["only"])
    XCTAssertEqual(read.metadata, ["v": "2"])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["ckpt.safetensors"])
  }

  /// A write that fails validation leaves the old file untouched and no temporary file.
  func testFailedWriteLeavesTheOldFile() throws {
    let directory = try scratchDirectory("st-failed")
    let url = directory.appendingPathComponent("ckpt.safetensors")
    try SafeTensors.write(sampleTensors(), to: url)
    let before = try Data(contentsOf: url)
    assertSafeTensorsError(.invalidArgument, ["\"bad\"", "make 8 bytes", "has 3"]) {
      try SafeTensors.write([SafeTensor(name: "bad", dtype: .F32, shape: [2], bytes: [1, 2, 3])], to: url)
    }
    XCTAssertEqual(try Data(contentsOf: url), before)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["ckpt.safetensors"])
  }

  /// Writing into a directory that does not exist is an `.io` error naming the path.
  func testWriteIntoMissingDirectory() throws {
    let url = try scratchDirectory("st-missing").appendingPathComponent("no/such/dir/x.safetensors")
    assertSafeTensorsError(.io, ["no/such/dir", "No such file"]) { try SafeTensors.write(sampleTensors(), to: url) }
    assertSafeTensorsError(.io, ["no/such/dir", "No such file"]) { try SafeTensors.read(url) }
  }

  /// The typed views refuse a dtype they do not describe instead of reinterpreting bytes.
  func testTypedViewsCheckTheDType() {
    let bf16 = SafeTensor(name: "w", dtype: .BF16, shape: [2], bytes: [0, 0, 0, 0])
    assertSafeTensorsError(.invalidArgument, ["\"w\"", "BF16", "not F32"]) { try bf16.floats }
    assertSafeTensorsError(.invalidArgument, ["not F64"]) { try bf16.doubles }
    assertSafeTensorsError(.invalidArgument, ["not I32"]) { try bf16.int32s }
    assertSafeTensorsError(.invalidArgument, ["not I64"]) { try bf16.int64s }
    let ragged = SafeTensor(name: "r", dtype: .F32, shape: [1], bytes: [1, 2, 3])
    assertSafeTensorsError(.invalidArgument, ["3 bytes", "whole number"]) { try ragged.floats }
  }

  /// The writer refuses what a reader would refuse.
  func testWriterValidation() {
    assertSafeTensorsError(.invalidArgument, ["\"t\"", "appears twice"]) {
      try SafeTensors.encode([SafeTensor(name: "t", shape: [1], floats: [1]), SafeTensor(name: "t", shape: [1], floats: [2])])
    }
    assertSafeTensorsError(.invalidArgument, ["__metadata__", "reserved"]) {
      try SafeTensors.encode([SafeTensor(name: "__metadata__", shape: [1], floats: [1])])
    }
    assertSafeTensorsError(.invalidArgument, ["negative", "[2, -1]"]) {
      try SafeTensors.encode([SafeTensor(name: "n", dtype: .U8, shape: [2, -1], bytes: [])])
    }
    assertSafeTensorsError(.invalidArgument, ["too large"]) {
      try SafeTensors.encode([SafeTensor(name: "huge", dtype: .F64, shape: [Int.max / 2, 4], bytes: [])])
    }
  }
}
