import Foundation
import RlaxTestSupport
import XCTest

/// `rlax curate`: per-problem pass rates under a checkpoint, the band, the JSONL it writes.
final class CurateTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }

  struct Record: Decodable {
    var prompt: String
    var answer: String
    var passRate: Double
    var samples: Int
  }

  func records(_ url: URL) throws -> [Record] {
    try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { try JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
  }

  func testTheBandKeepsExactlyTheProblemsWhoseMeasuredRateLiesInItAndTheOutputLoadsAsADataset() throws {
    let dir = try TestSupport.temporaryDirectory("curate")
    let run = dir.appendingPathComponent("run")
    XCTAssertEqual(try TestSupport.run(rlax, TestSupport.tinyRunFlags + ["--steps", "1", "--quiet", "--run-dir", run.path]).status, 0)
    let checkpoint = run.appendingPathComponent("reference").path
    func curate(_ band: String, _ out: URL, _ extra: [String] = []) throws -> String {
      let r = try TestSupport.run(rlax, ["curate", "--checkpoint", checkpoint, "--samples", "4", "--problems", "24", "--band", band,
                                         "--out", out.path] + TestSupport.tinySetFlags + extra)
      XCTAssertEqual(r.status, 0, r.output)
      return r.output
    }
    let all = dir.appendingPathComponent("all.jsonl"), mid = dir.appendingPathComponent("mid.jsonl")
    let output = try curate("0,1", all)
    let everything = try records(all)
    XCTAssertEqual(everything.count, 24, output)
    XCTAssertTrue(everything.allSatisfy { $0.samples == 4 && [0, 0.25, 0.5, 0.75, 1].contains($0.passRate) })
    XCTAssertTrue(output.contains("kept 24") && output.contains("[0.9, 1.0]"), output)
    _ = try curate("0.25,0.75", mid)
    let kept = try records(mid)
    XCTAssertEqual(kept.map(\.prompt), everything.filter { $0.passRate >= 0.25 && $0.passRate <= 0.75 }.map(\.prompt),
                   "the band keeps exactly the problems whose measured rate is in it, in order")
    XCTAssertLessThan(kept.count, everything.count, "the barely trained policy fails some problems every time: the band drops them")
    XCTAssertEqual(try String(contentsOf: all, encoding: .utf8), try { _ = try curate("0,1", all); return try String(contentsOf: all, encoding: .utf8) }(),
                   "the same checkpoint and seed give the same file")
    // The curated file is a dataset rlax reads (its records came from the train split).
    let again = dir.appendingPathComponent("again.jsonl")
    let reread = try curate("0,1", again, ["--dataset", all.path, "--problems", "\(everything.count)"])
    XCTAssertTrue(reread.contains("jsonl"), reread)
    XCTAssertEqual(Set(try records(again).map(\.prompt)), Set(everything.map(\.prompt)))
    let bad = try TestSupport.run(rlax, ["curate", "--checkpoint", checkpoint, "--band", "0.9,0.1", "--out", again.path] + TestSupport.tinySetFlags)
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.output.contains("--band takes lo,hi"), bad.output)
  }
}
