import Foundation
import XCTest
import RlaxTestSupport
@testable import RlaxSafeTensors

/// Checkpoint integrity: a checksum table with an entry missing is corrupt, and NaN or inf in
/// a tensor that must be finite names the file, the tensor and the element.
final class IntegrityErrorTests: XCTestCase {
  func testAChecksumTableWithAnEntryMissingIsCorrupt() throws {
    let url = try scratchDirectory("st-missing-entry").appendingPathComponent("model.safetensors")
    try SafeTensors.write(sampleTensors(), checksums: true, to: url)
    var metadata = try SafeTensors.read(url).metadata
    metadata["checksum.layer.step"] = nil  // the table loses one entry; the bytes are intact
    try SafeTensors.write(sampleTensors(), metadata: metadata, to: url)
    assertSafeTensorsError(.checksumMismatch, [url.path, #"tensor "layer.step" has no checksum in __metadata__"#,
                                               "2 of 3 tensors have one", "corrupt"]) {
      try SafeTensors.read(url)
    }
    // Only the algorithm key left: a table with every entry missing.
    assertSafeTensorsError(.checksumMismatch, [#"tensor "layer.weight" has no checksum"#, "0 of 3 tensors", "3 lack one"]) {
      try SafeTensors.decode(bytes: try SafeTensors.encode(sampleTensors(), metadata: ["checksum_algorithm": "crc32c"]), source: "m.safetensors")
    }
    // A file with no table at all still reads (checksums are optional), and opting out reads the incomplete one.
    XCTAssertEqual(try SafeTensors.decode(bytes: try SafeTensors.encode(sampleTensors())).tensors, sampleTensors())
    XCTAssertEqual(try SafeTensors.read(url, verifyChecksums: false).tensors, sampleTensors())
  }

  func testNonFiniteWeightsNameTheFileTheTensorAndTheElement() throws {
    let ok = SafeTensor(name: "w", shape: [2], floats: [1, -2])
    XCTAssertEqual(try ok.finiteFloats(file: "model.safetensors"), [1, -2])
    let bad = SafeTensor(name: "layers.0.attention.wq", shape: [2, 3], floats: [0, 1, 2, 3, .nan, -.infinity])
    assertSafeTensorsError(.nonFinite, ["runs/a/checkpoint/model.safetensors: ", #"tensor "layers.0.attention.wq""#,
                                        "2 non-finite values of 6", "the first is nan at element 4 (index [1, 1])"]) {
      try bad.finiteFloats(file: "runs/a/checkpoint/model.safetensors")
    }
    let inf = SafeTensor(name: "b", shape: [3], floats: [0, .infinity, 0])
    assertSafeTensorsError(.nonFinite, [#"tensor "b" holds 1 non-finite value of 3: the first is inf at element 1"#]) {
      try inf.finiteFloats(file: "f")
    }
    // Round trip through a file: the bytes survive, the check names the file it came from.
    let url = try scratchDirectory("st-nan").appendingPathComponent("model.safetensors")
    try SafeTensors.write([ok, bad], checksums: true, to: url)
    let read = try SafeTensors.read(url).tensors
    assertSafeTensorsError(.nonFinite, [url.path, "layers.0.attention.wq"]) {
      try read.map { try $0.finiteFloats(file: url.path) }
    }
  }
}
