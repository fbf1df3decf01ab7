import Foundation
import RlaxTestSupport
import XCTest

/// Held-out pass@k at checkpoints (eval.every): measured on the run's own model after the
/// chosen steps, and equal to evaluating that step's checkpoint from disk.
final class HeldOutCurveTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }

  func testTheCurvePointOfAStepEqualsEvaluatingItsCheckpoint() throws {
    let run = try TestSupport.temporaryDirectory("heldout").appendingPathComponent("run")
    let flags = TestSupport.tinyRunFlags + ["--set", "eval.every=1", "--steps", "3", "--run-dir", run.path]
    let first = try TestSupport.run(rlax, flags + ["--stop-after", "1"])
    XCTAssertEqual(first.status, 0, first.output)
    let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 1)
    let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    let heldOut = try XCTUnwrap(metrics["heldOut"] as? [String: Double], "\(metrics)")

    // The step-1 checkpoint evaluated by `rlax eval` (another code path: weights read from disk).
    let eval = try TestSupport.run(rlax, ["eval", "--checkpoint", run.appendingPathComponent("checkpoint").path, "--json",
                                          "--samples", "2", "--k", "1,2", "--problems", "4"] + TestSupport.tinySetFlags)
    XCTAssertEqual(eval.status, 0, eval.output)
    let json = eval.output[try XCTUnwrap(eval.output.firstIndex(of: "{"))...]
    let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    XCTAssertEqual(heldOut, report["passAtK"] as? [String: Double])

    // Resumed to the end: steps 1 and 2 carry a point, the last step's is eval-after.json.
    let rest = try TestSupport.run(rlax, flags + ["--resume"])
    XCTAssertEqual(rest.status, 0, rest.output)
    let all = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
      .map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    XCTAssertEqual(all.map { $0["heldOut"] != nil }, [true, true, false])
    XCTAssertEqual(all[0]["heldOut"] as? [String: Double], heldOut, "the resumed run keeps the point measured before the stop")
  }
}
