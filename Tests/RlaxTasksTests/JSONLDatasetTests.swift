import XCTest
@testable import RlaxTasks

final class JSONLDatasetTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlax-tasks-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try FileManager.default.removeItem(at: directory)
  }

  /// Writes `lines` joined by newlines to `data.jsonl` and returns its path.
  private func write(_ lines: [String], name: String = "data.jsonl") throws -> String {
    let url = directory.appendingPathComponent(name)
    try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  /// The description of the error loading `lines`, with the temp directory removed.
  private func loadError(_ lines: [String]) throws -> String {
    let path = try write(lines)
    do {
      _ = try JSONLDataset.load(path: path)
      XCTFail("expected an error")
      return ""
    } catch let error as JSONLDatasetError {
      XCTAssertEqual(error.file, path)
      return "\(error)".replacingOccurrences(of: directory.path + "/", with: "")
    }
  }

  private let good = #"{"prompt": "1+1=", "answer": "2"}"#

  func testLoadsRecordsSkipsBlankLinesAndKeepsFields() throws {
    let path = try write([
      good, "", "   ",
      #"{"prompt": "half of 1? ", "answer": "0.5", "verifier": "numeric", "id": 17}"#,
      #"{"prompt": "2,5:10=", "answer": "2*5", "verifier": "countdown", "metadata": {"source": "hand"}}"#,
      #"{"prompt": "x", "answer": "y", "verifier": null}"# + "\r",
    ])
    let dataset = try JSONLDataset.load(path: path)
    XCTAssertEqual(dataset.name, "jsonl:data.jsonl")
    XCTAssertEqual(dataset.records, [
      Problem(prompt: "1+1=", answer: "2"),
      Problem(prompt: "half of 1? ", answer: "0.5", verifier: "numeric"),
      Problem(prompt: "2,5:10=", answer: "2*5", verifier: "countdown", metadata: ["source": "hand"]),
      Problem(prompt: "x", answer: "y"),
    ])
    XCTAssertEqual(dataset.reward(problem: dataset.records[1], completion: "0.50000001"), 1)
    XCTAssertEqual(dataset.reward(problem: dataset.records[2], completion: "5*2"), 1)
    XCTAssertEqual(dataset.reward(problem: dataset.records[0], completion: "3"), 0)
  }

  func testMalformedRecordsNameFileLineAndField() throws {
    XCTAssertEqual(try loadError([good, good, "", "{\"prompt\": \"a\", \"answer\": 7}"]),
                   #"data.jsonl:4: field "answer": expected a string, found number"#)
    XCTAssertEqual(try loadError([#"{"answer": "7"}"#]), #"data.jsonl:1: field "prompt": missing (required)"#)
    XCTAssertEqual(try loadError([good, #"{"prompt": "p"}"#]), #"data.jsonl:2: field "answer": missing (required)"#)
    XCTAssertEqual(try loadError([#"{"prompt": "", "answer": "a"}"#]), #"data.jsonl:1: field "prompt": must not be empty"#)
    XCTAssertEqual(try loadError([#"{"prompt": true, "answer": "a"}"#]), #"data.jsonl:1: field "prompt": expected a string, found boolean"#)
    XCTAssertEqual(try loadError([#"{"prompt": ["p"], "answer": "a"}"#]), #"data.jsonl:1: field "prompt": expected a string, found array"#)
    XCTAssertEqual(try loadError([#"{"prompt": "p", "answer": "a", "verifier": "fuzzy"}"#]),
                   #"data.jsonl:1: field "verifier": unknown verifier "fuzzy"; known verifiers: arithmetic, countdown, exact, numeric"#)
    XCTAssertEqual(try loadError([#"{"prompt": "p", "answer": "a", "verifier": 3}"#]),
                   #"data.jsonl:1: field "verifier": expected a string, found number"#)
    XCTAssertEqual(try loadError([#"{"prompt": "p", "answer": "a", "metadata": {"k": 1}}"#]),
                   #"data.jsonl:1: field "metadata": expected string values, found number for key "k""#)
    XCTAssertEqual(try loadError([#"["prompt", "answer"]"#]), "data.jsonl:1: expected a JSON object, found array")
  }

  func testRecordsThatTheirVerifierCannotScoreAreRejected() throws {
    XCTAssertEqual(try loadError([#"{"prompt": "p", "answer": "about 3", "verifier": "numeric"}"#]),
                   #"data.jsonl:1: field "answer": the numeric verifier needs a decimal number, found "about 3""#)
    XCTAssertEqual(try loadError([#"{"prompt": "p", "answer": "+3", "verifier": "arithmetic"}"#]),
                   #"data.jsonl:1: field "answer": the arithmetic verifier needs a canonical integer, found "+3""#)
    XCTAssertEqual(try loadError([#"{"prompt": "2,5:11=", "answer": "2*5", "verifier": "countdown"}"#]),
                   #"data.jsonl:1: field "answer": "2*5" does not solve the countdown puzzle "2,5:11=""#)
    XCTAssertTrue(try loadError([#"{"prompt": "solve it", "answer": "2*5", "verifier": "countdown"}"#])
      .hasPrefix(#"data.jsonl:1: field "prompt": the countdown verifier needs a prompt like"#))
  }

  func testInvalidJSONNamesLine() throws {
    // Foundation's wording may change between versions; the location prefix must not.
    let message = try loadError([good, good, #"{"prompt": "a", "answer": }"#])
    XCTAssertTrue(message.hasPrefix("data.jsonl:3: not valid JSON: "), message)
    XCTAssertTrue(message.contains("character 26"), message)
    XCTAssertTrue(try loadError(["not json"]).hasPrefix("data.jsonl:1: not valid JSON: "))
  }

  func testWholeFileProblems() throws {
    XCTAssertEqual(try loadError(["", "  "]), "data.jsonl: contains no records")
    let missing = directory.appendingPathComponent("nope.jsonl").path
    XCTAssertThrowsError(try JSONLDataset.load(path: missing)) { error in
      XCTAssertTrue("\(error)".hasPrefix(missing + ": cannot read file: "), "\(error)")
    }
    let binary = directory.appendingPathComponent("bin.jsonl")
    try Data([0xFF, 0xFE, 0x00]).write(to: binary)
    XCTAssertThrowsError(try JSONLDataset.load(path: binary.path)) { error in
      XCTAssertEqual("\(error)", binary.path + ":1: not valid UTF-8: byte 0xFF at byte 1 of the line")
    }
  }

  func testSplitsAreDisjointAndSamplingIsDeterministic() throws {
    // 1-digit additions: exactly six of these 100 prompts are held out (see ArithmeticTaskTests).
    var lines: [String] = []
    for a in 0...9 { for b in 0...9 { lines.append(#"{"prompt": "\#(a)+\#(b)=", "answer": "\#(a + b)"}"#) } }
    let dataset = try JSONLDataset.load(path: try write(lines))
    XCTAssertEqual(Set(dataset.records(in: .heldOut).map(\.prompt)), ["2+7=", "3+0=", "3+8=", "4+5=", "5+4=", "9+6="])
    XCTAssertEqual(dataset.records(in: .train).count, 94)

    let train = dataset.problems(split: .train, count: 10_000, seed: 3)
    XCTAssertEqual(train.count, 10_000)
    XCTAssertTrue(Set(train.map(\.prompt)).isDisjoint(with: dataset.records(in: .heldOut).map(\.prompt)))
    XCTAssertEqual(train, dataset.problems(split: .train, count: 10_000, seed: 3))
    XCTAssertNotEqual(dataset.problems(split: .train, count: 20, seed: 3), dataset.problems(split: .train, count: 20, seed: 4))

    // count <= size: no repeats. count > size: balanced passes (15 = 6 + 6 + 3).
    XCTAssertEqual(Set(dataset.problems(split: .train, count: 94, seed: 1)).count, 94)
    let oversampled = dataset.problems(split: .heldOut, count: 15, seed: 1)
    let counts = Dictionary(grouping: oversampled, by: \.prompt).mapValues(\.count)
    XCTAssertEqual(counts.count, 6)
    XCTAssertEqual(counts.values.sorted(), [2, 2, 2, 3, 3, 3])
  }
}
