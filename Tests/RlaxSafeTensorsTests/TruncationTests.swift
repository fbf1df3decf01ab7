import XCTest
import RlaxTestSupport
@testable import RlaxSafeTensors

/// A file cut off anywhere is reported as truncated: never a crash, never fewer tensors.
final class TruncationTests: XCTestCase {
  func testEveryPrefixOfAFileIsReportedAsTruncated() throws {
    let full = try SafeTensors.encode(sampleTensors(), metadata: ["k": "v"])
    for length in 0..<full.count {
      let error = assertSafeTensorsError(.truncated, ["cut.safetensors"]) {
        try SafeTensors.decode(bytes: Array(full[..<length]), source: "cut.safetensors")
      }
      if length >= full.count - 36 {  // the whole header is there: the data is what is short
        XCTAssertTrue(error?.problem.hasPrefix("truncated: ") ?? false, "\(String(describing: error))")
        XCTAssertTrue(error?.problem.contains("a complete one would have \(full.count)") ?? false, "\(String(describing: error))")
      }
    }
    XCTAssertEqual(try SafeTensors.decode(bytes: full).tensors, sampleTensors())
  }

  func testTruncatedFilesOnDisk() throws {
    let directory = try scratchDirectory("st-truncated")
    let url = directory.appendingPathComponent("cut.safetensors")
    try SafeTensors.write(sampleTensors(), to: url)
    let full = try Data(contentsOf: url)
    for length in [0, 3, 8, 20, full.count - 37, full.count - 36, full.count - 5, full.count - 1] {
      try full.prefix(length).write(to: url)
      assertSafeTensorsError(.truncated, [url.path]) { try SafeTensors.read(url) }
    }
    // Extra bytes at the end are not truncation but are just as wrong.
    try (full + [0]).write(to: url)
    assertSafeTensorsError(.malformed, [url.path, "1 bytes unaccounted for"]) { try SafeTensors.read(url) }
  }

  func testReadingADirectoryIsAnIOError() throws {
    let directory = try scratchDirectory("st-dir")
    assertSafeTensorsError(.io, [directory.path, "not a regular file"]) { try SafeTensors.read(directory) }
  }
}
