import XCTest
import RlaxTestSupport
@testable import RlaxSafeTensors

/// Files cross between this module and Python's reference `safetensors` package in both
/// directions. Skipped where `python3` with `safetensors` and `numpy` is not installed.
final class PythonInteropTests: XCTestCase {
  /// Runs `script` with python3 (arguments after it), skipping the test when the packages
  /// are missing and failing it when the script itself fails.
  func python(_ script: String, _ arguments: [String]) throws -> String {
    let probe = try? TestSupport.run("/usr/bin/env", ["python3", "-c", "import safetensors.numpy, numpy"])
    guard let probe, probe.status == 0 else {
      throw XCTSkip("python3 with safetensors and numpy is not available (pip install safetensors numpy)")
    }
    let result = try TestSupport.run("/usr/bin/env", ["python3", "-c", script] + arguments)
    guard result.status == 0 else {
      XCTFail("python failed (\(result.status)): \(result.output)")
      throw SupportError("python failed")
    }
    return result.output
  }

  func testPythonReadsWhatWeWrite() throws {
    let tensors = [
      SafeTensor(name: "weights", shape: [2, 3], floats: [1.5, -2, 0.25, 1e-3, 3e38, -0.0]),
      SafeTensor(name: "bias", shape: [3], doubles: [.pi, -1, 1e300]),
      SafeTensor(name: "step", shape: [], int64s: [123_456_789_012]),
      SafeTensor(name: "ids", shape: [4], int32s: [-1, 0, 1, .max]),
      SafeTensor(name: "empty", shape: [0, 3], floats: []),
      SafeTensor(name: "half", dtype: .F16, shape: [2], bytes: [0x00, 0x3E, 0x00, 0xC0]),
      SafeTensor(name: "flags", dtype: .BOOL, shape: [3], bytes: [1, 0, 1]),
      SafeTensor(name: "odd", dtype: .U8, shape: [3], bytes: [7, 8, 9]),  // leaves later tensors unaligned
      SafeTensor(name: "after.odd", shape: [1], floats: [42]),
    ]
    let url = try scratchDirectory("st-py-read").appendingPathComponent("swift.safetensors")
    try SafeTensors.write(tensors, metadata: ["format": "np", "written_by": "rlax"], checksums: true, to: url)

    let script = """
      import json, sys
      from safetensors import safe_open
      from safetensors.numpy import load_file
      tensors = load_file(sys.argv[1])
      with safe_open(sys.argv[1], framework="np") as f:
          metadata = f.metadata()
      out = {name: {"dtype": str(t.dtype), "shape": list(t.shape), "values": t.flatten().tolist()}
             for name, t in tensors.items()}
      print(json.dumps({"tensors": out, "metadata": metadata}, sort_keys=True))
      """
    let output = try python(script, [url.path])
    let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], output)
    let loaded = try XCTUnwrap(parsed["tensors"] as? [String: [String: Any]], output)
    let metadata = try XCTUnwrap(parsed["metadata"] as? [String: String], output)

    XCTAssertEqual(Set(loaded.keys), Set(tensors.map(\.name)))
    XCTAssertEqual(metadata["format"], "np")
    XCTAssertEqual(metadata["written_by"], "rlax")
    XCTAssertEqual(metadata["checksum.weights"], String(format: "%08x", SafeTensors.crc32c(tensors[0].bytes)))
    let expected: [String: (dtype: String, shape: [Int], values: [Double])] = [
      "weights": ("float32", [2, 3], [1.5, -2, 0.25, Double(Float(1e-3)), Double(Float(3e38)), 0]),
      "bias": ("float64", [3], [.pi, -1, 1e300]),
      "step": ("int64", [], [123_456_789_012]),
      "ids": ("int32", [4], [-1, 0, 1, Double(Int32.max)]),
      "empty": ("float32", [0, 3], []),
      "half": ("float16", [2], [1.5, -2]),
      "flags": ("bool", [3], [1, 0, 1]),
      "odd": ("uint8", [3], [7, 8, 9]),
      "after.odd": ("float32", [1], [42]),
    ]
    for (name, want) in expected {
      let got = try XCTUnwrap(loaded[name], name)
      XCTAssertEqual(got["dtype"] as? String, want.dtype, name)
      XCTAssertEqual(got["shape"] as? [Int], want.shape, name)
      // Python prints bools as true/false; JSONSerialization hands them back as NSNumbers.
      let values = try XCTUnwrap((got["values"] as? [NSNumber])?.map(\.doubleValue), name)
      XCTAssertEqual(values.count, want.values.count, name)
      for (value, wanted) in zip(values, want.values) {
        // Foundation's JSON number parsing can be off in the last digit of a double, so
        // narrow values compare at their own precision and wide ones within 1e-15.
        if want.dtype == "float32" || want.dtype == "float16" {
          XCTAssertEqual(Float(value), Float(wanted), name)
        } else {
          XCTAssertEqual(value, wanted, accuracy: abs(wanted) * 1e-15, name)
        }
      }
    }
  }

  func testWeReadWhatPythonWrites() throws {
    let url = try scratchDirectory("st-py-write").appendingPathComponent("python.safetensors")
    let script = """
      import sys
      import numpy as np
      from safetensors.numpy import save_file
      save_file({
          "matrix": np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
          "scalar": np.array(-9, dtype=np.int64),
          "nothing": np.zeros((0, 4), dtype=np.float64),
          "half": np.array([1.5, -2], dtype=np.float16),
          "flags": np.array([True, False]),
          "small": np.array([[1, -2], [3, -4]], dtype=np.int32),
          "wide": np.array([2.0 ** 60, -0.5], dtype=np.float64),
      }, sys.argv[1], metadata={"format": "np", "origin": "python"})
      """
    _ = try python(script, [url.path])
    let read = try SafeTensors.read(url)
    let byName = Dictionary(uniqueKeysWithValues: read.tensors.map { ($0.name, $0) })

    XCTAssertEqual(read.metadata, ["format": "np", "origin": "python"])
    XCTAssertEqual(Set(byName.keys), ["matrix", "scalar", "nothing", "half", "flags", "small", "wide"])
    XCTAssertEqual(byName["matrix"]?.shape, [2, 3])
    XCTAssertEqual(try byName["matrix"]?.floats, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    XCTAssertEqual(byName["scalar"]?.shape, [])
    XCTAssertEqual(try byName["scalar"]?.int64s, [-9])
    XCTAssertEqual(byName["nothing"]?.dtype, .F64)
    XCTAssertEqual(byName["nothing"]?.shape, [0, 4])
    XCTAssertEqual(byName["nothing"]?.bytes, [])
    XCTAssertEqual(byName["half"]?.dtype, .F16)
    XCTAssertEqual(byName["half"]?.bytes, [0x00, 0x3E, 0x00, 0xC0])
    XCTAssertEqual(byName["flags"]?.dtype, .BOOL)
    XCTAssertEqual(byName["flags"]?.bytes, [1, 0])
    XCTAssertEqual(try byName["small"]?.int32s, [1, -2, 3, -4])
    XCTAssertEqual(try byName["wide"]?.doubles, [0x1p60, -0.5])

    // Re-encoding in the order read and with the same metadata, our writer also produces a
    // file Python accepts; the round trip through both is lossless.
    let again = url.deletingLastPathComponent().appendingPathComponent("again.safetensors")
    try SafeTensors.write(read.tensors, metadata: read.metadata, to: again)
    let check = """
      import sys
      import numpy as np
      from safetensors.numpy import load_file
      a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
      assert a.keys() == b.keys(), (a.keys(), b.keys())
      for k in a:
          assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k]), k
      print("same")
      """
    XCTAssertEqual(try python(check, [url.path, again.path]).trimmingCharacters(in: .whitespacesAndNewlines), "same")
  }
}
