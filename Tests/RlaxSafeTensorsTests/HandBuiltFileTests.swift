import XCTest
@testable import RlaxSafeTensors

/// Files built byte by byte from the format's definition read as the definition says.
final class HandBuiltFileTests: XCTestCase {
  func testReadsAFileBuiltFromTheSpec() throws {
    // Written as another writer might: keys in a different order, spaces in the JSON,
    // tensors not in header order, extra whitespace as padding, an unpadded length.
    let header = """
      { "beta" : {"shape": [2], "dtype": "I32", "data_offsets": [8, 16]},
        "alpha": {"data_offsets": [0, 8], "dtype": "F32", "shape": [1, 2]},
        "__metadata__": {"format": "np", "author": "hand"},
        "gamma": {"dtype": "U8", "shape": [], "data_offsets": [16, 17]} }
      """
    let data = f32Bytes([0.5, -3]) + [0x01, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF] + [200]
    let decoded = try SafeTensors.decode(bytes: RawFile.bytes(header: header, data: data), source: "hand.safetensors")

    XCTAssertEqual(decoded.metadata, ["format": "np", "author": "hand"])
    XCTAssertEqual(decoded.tensors.map(\.name), ["alpha", "beta", "gamma"], "data-offset order")
    XCTAssertEqual(decoded.tensors[0].dtype, .F32)
    XCTAssertEqual(decoded.tensors[0].shape, [1, 2])
    XCTAssertEqual(try decoded.tensors[0].floats, [0.5, -3])
    XCTAssertEqual(try decoded.tensors[1].int32s, [1, -2])
    XCTAssertEqual(decoded.tensors[2].shape, [])
    XCTAssertEqual(decoded.tensors[2].bytes, [200])
  }

  /// A header without `__metadata__` (or with `null`, which Python accepts) has none.
  func testMetadataIsOptional() throws {
    let data = f32Bytes([7])
    for header in [#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                   #"{"__metadata__":null,"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#] {
      let decoded = try SafeTensors.decode(bytes: RawFile.bytes(header: header, data: data))
      XCTAssertEqual(decoded.metadata, [:])
      XCTAssertEqual(try decoded.tensors.first?.floats, [7])
    }
  }

  /// Entries may carry keys this reader does not know; they are ignored, as Python does.
  func testUnknownEntryKeysAreIgnored() throws {
    let header = #"{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":true}}"#
    XCTAssertEqual(try SafeTensors.decode(bytes: RawFile.bytes(header: header, data: [9])).tensors.first?.bytes, [9])
  }
}
