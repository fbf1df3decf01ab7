import Foundation
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// The file store writes real safetensors: checked here with an independent reader
/// (Foundation's JSON parser over the documented layout), and with Python's `safetensors`
/// when it is installed.
final class FileStoreTests: XCTestCase {
  func testVersionsAreSafetensorsFilesThatAnIndependentReaderParses() throws {
    let dir = try TestSupport.temporaryDirectory("file-store")
    let store = try WeightStore(library: try TestSupport.bundled("file"), options: PluginOptions([("dir", dir.path)]))
    let weights: [Float] = [1.5, -2, 3.25, 0, 4, 5]
    try store.publish(version: 12, tensors: [
      HostTensor(name: "w", shape: [2, 3], floats: weights),
      HostTensor(name: "ids", dtype: .i32, shape: [2], bytes: [Int32(7), Int32(-1)].withUnsafeBytes { Array($0) }),
    ])
    let file = dir.appendingPathComponent("v00000000000000000012/weights.safetensors")
    let data = try Data(contentsOf: file)
    let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
    XCTAssertEqual((8 + headerLength) % 8, 0, "header padded to a multiple of 8")
    let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
    let w = header["w"] as! [String: Any]
    XCTAssertEqual(w["dtype"] as? String, "F32")
    XCTAssertEqual(w["shape"] as? [Int], [2, 3])
    let offsets = w["data_offsets"] as! [Int]
    let body = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
    XCTAssertEqual(body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, weights)
    let meta = header["__metadata__"] as! [String: String]
    XCTAssertEqual(meta["version"], "12")
    XCTAssertEqual(meta["checksum_algorithm"], "crc32c")
    XCTAssertNotNil(meta["checksum.w"])

    // A second process-like reader (a new store on the same directory) sees the version.
    let reader = try WeightStore(library: try TestSupport.bundled("file"), options: PluginOptions([("dir", dir.path)]))
    XCTAssertEqual(try reader.latest(), 12)
    XCTAssertEqual(try reader.fetch(version: 12, names: ["w"]).first?.floats, weights)

    // Damage one byte of w on disk: the next fetch is CORRUPT, naming the tensor.
    let handle = try FileHandle(forUpdating: file)
    try handle.seek(toOffset: UInt64(8 + headerLength + offsets[0] + 1))
    try handle.write(contentsOf: Data([0xAB]))
    try handle.close()
    XCTAssertThrowsError(try reader.fetch(version: 12, names: ["w"])) { error in
      XCTAssertEqual((error as? PluginError)?.code, .corrupt)
      XCTAssertTrue("\(error)".contains("w"), "\(error)")
    }

    let python = try? TestSupport.run("/usr/bin/env", ["python3", "-c", "import safetensors, numpy"])
    guard python?.status == 0 else { return }  // Python's safetensors not installed: the check above stands
    try store.publish(version: 13, tensors: [HostTensor(name: "w", shape: [2, 3], floats: weights)])
    let script = "from safetensors.numpy import load_file; t = load_file('\(dir.path)/v00000000000000000013/weights.safetensors'); print(t['w'].shape, t['w'].ravel().tolist())"
    let out = try TestSupport.run("/usr/bin/env", ["python3", "-c", script])
    XCTAssertEqual(out.status, 0, out.output)
    XCTAssertEqual(out.output.trimmingCharacters(in: .whitespacesAndNewlines), "(2, 3) [1.5, -2.0, 3.25, 0.0, 4.0, 5.0]")
  }

  func testMissingDirOptionIsAClearError() throws {
    XCTAssertThrowsError(try WeightStore(library: try TestSupport.bundled("file"))) { error in
      XCTAssertEqual((error as? PluginError)?.code, .invalidArgument)
      XCTAssertTrue("\(error)".contains("dir"), "\(error)")
    }
  }
}
