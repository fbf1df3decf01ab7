import XCTest
import RlaxTestSupport
@testable import RlaxSafeTensors

/// Builds files straight from the format's definition, independently of `HeaderWriter`, so
/// that reader tests do not merely check the writer against itself.
enum RawFile {
  /// 8-byte little-endian length of `header`, the header as given, then `data`.
  static func bytes(header: String, data: [UInt8] = []) -> [UInt8] {
    let json = Array(header.utf8)
    var out: [UInt8] = []
    var length = UInt64(json.count)
    for _ in 0..<8 {
      out.append(UInt8(length & 0xFF))
      length >>= 8
    }
    return out + json + data
  }

  /// Same, with the length prefix set to `length` whatever the header's real size.
  static func bytes(claimedLength length: UInt64, header: String, data: [UInt8] = []) -> [UInt8] {
    var out = bytes(header: header, data: data)
    for i in 0..<8 { out[i] = UInt8((length >> (8 * UInt64(i))) & 0xFF) }
    return out
  }
}

/// Asserts that `body` throws a `SafeTensorsError` of `kind` whose description contains
/// every string in `fragments`, and returns it for further checks.
@discardableResult
func assertSafeTensorsError<T>(_ kind: SafeTensorsError.Kind, _ fragments: [String],
                               file: StaticString = #filePath, line: UInt = #line,
                               _ body: () throws -> T) -> SafeTensorsError? {
  do {
    let value = try body()
    XCTFail("expected a \(kind) error mentioning \(fragments), got \(value)", file: file, line: line)
    return nil
  } catch let error as SafeTensorsError {
    XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
    for fragment in fragments {
      XCTAssertTrue(error.description.contains(fragment), "\"\(error)\" does not mention \"\(fragment)\"",
                    file: file, line: line)
    }
    return error
  } catch {
    XCTFail("expected SafeTensorsError, got \(type(of: error)): \(error)", file: file, line: line)
    return nil
  }
}

/// The little-endian bytes of some F32 values, computed without the module's helpers.
func f32Bytes(_ values: [Float]) -> [UInt8] {
  values.flatMap { v -> [UInt8] in
    let bits = v.bitPattern
    return (0..<4).map { UInt8((bits >> (8 * UInt32($0))) & 0xFF) }
  }
}

/// A small file with three tensors of different dtypes and some metadata.
func sampleTensors() -> [SafeTensor] {
  [
    SafeTensor(name: "layer.weight", shape: [2, 3], floats: [1, -2, 3.5, 0, .infinity, -0.0]),
    SafeTensor(name: "layer.step", shape: [], int64s: [42]),
    SafeTensor(name: "mask", dtype: .U8, shape: [4], bytes: [0, 1, 255, 7]),
  ]
}

extension XCTestCase {
  /// A fresh temporary directory that is removed when the test ends, so repeated runs do not
  /// fill /tmp with checkpoints.
  func scratchDirectory(_ label: String) throws -> URL {
    let url = try TestSupport.temporaryDirectory(label)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }
}
