import Foundation
import XCTest
@testable import RlaxTasks

/// Real-world JSONL files: Windows line endings and a byte-order mark load; bad bytes and
/// over-long lines name the file and line; a dataset without held-out records says so.
final class JSONLInputErrorTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlax-jsonl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try FileManager.default.removeItem(at: directory)
  }

  private func file(_ bytes: [UInt8], name: String = "data.jsonl") throws -> String {
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
  }

  private func record(_ prompt: String, _ answer: String) -> String { #"{"prompt": "\#(prompt)", "answer": "\#(answer)"}"# }

  func testABOMAndCRLFLineEndingsAreAccepted() throws {
    let text = record("1+1=", "2") + "\r\n" + record("2+2=", "4") + "\r\n\r\n" + record("3+3=", "6") + "\r\n"
    let path = try file([0xEF, 0xBB, 0xBF] + Array(text.utf8))
    let dataset = try JSONLDataset.load(path: path)
    XCTAssertEqual(dataset.records.map(\.prompt), ["1+1=", "2+2=", "3+3="])
    XCTAssertEqual(dataset.records.map(\.answer), ["2", "4", "6"], "no \\r is left on a value")
    // The same from a String (as a caller reading the file itself would pass it).
    XCTAssertEqual(try JSONLDataset.parse("\u{FEFF}" + text, source: "s.jsonl").records.count, 3)
  }

  func testNonUTF8BytesNameTheFileAndLine() throws {
    let bad: [UInt8] = Array((record("1+1=", "2") + "\n" + record("2+2=", "4") + "\n").utf8)
      + Array(#"{"prompt": "caf"#.utf8) + [0xE9] + Array(#"=", "answer": "x"}"#.utf8) + [0x0A]  // Latin-1 é
    let path = try file(bad)
    XCTAssertThrowsError(try JSONLDataset.load(path: path)) { error in
      XCTAssertEqual(error as? JSONLDatasetError,
                     JSONLDatasetError(file: path, line: 3, field: nil, reason: "not valid UTF-8: byte 0xE9 at byte 16 of the line"))
      XCTAssertEqual("\(error)", path + ":3: not valid UTF-8: byte 0xE9 at byte 16 of the line")
    }
  }

  func testOverLongLinesNameTheFileLineAndLimit() throws {
    let long = #"{"prompt": ""# + String(repeating: "a", count: JSONLDataset.maxLineBytes) + #"", "answer": "x"}"#
    let path = try file(Array((record("1+1=", "2") + "\n" + long + "\n").utf8))
    XCTAssertThrowsError(try JSONLDataset.load(path: path)) { error in
      let message = "\(error)"
      XCTAssertTrue(message.hasPrefix(path + ":2: line is \(long.utf8.count) bytes, longer than the 1048576-byte limit"), message)
      XCTAssertEqual((error as? JSONLDatasetError)?.line, 2)
    }
    // A line of exactly the limit is accepted as far as length goes.
    XCTAssertEqual(JSONLDataset.maxLineBytes, 1 << 20)
  }

  func testADatasetWithoutHeldOutRecordsSaysSoNamingTheFileAndTheSplitRule() throws {
    let trainOnly = (0..<200).map { "q\($0)=" }.filter { Split.containing(prompt: $0) == .train }.prefix(5)
    let path = try file(Array(trainOnly.map { record($0, "1") }.joined(separator: "\n").utf8), name: "train-only.jsonl")
    let dataset = try JSONLDataset.load(path: path)
    XCTAssertNoThrow(try dataset.requireRecords(in: .train))
    XCTAssertThrowsError(try dataset.requireRecords(in: .heldOut)) { error in
      XCTAssertEqual("\(error)", path + ": none of its 5 records is held out (a record is held out iff the 64-bit FNV-1a hash of its prompt is 0 mod 10"
                       + " (about 1 record in 10)), so held-out evaluation has no problems; add records, or evaluate on the train split (--set eval.split=train)")
    }
    let heldOnly = (0..<200).map { "q\($0)=" }.filter { Split.containing(prompt: $0) == .heldOut }.prefix(2)
    let held = try JSONLDataset.load(path: try file(Array(heldOnly.map { record($0, "1") }.joined(separator: "\n").utf8), name: "held.jsonl"))
    XCTAssertThrowsError(try held.requireRecords(in: .train)) { error in
      XCTAssertTrue("\(error)".contains("held.jsonl: all of its 2 records are held out"), "\(error)")
    }
  }
}
