import Foundation
import RlaxTestSupport
import XCTest

/// `rlax compare`: arms x seeds from one warm start per seed, paired statistics, and resume.
final class CompareTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }

  func testTwoIdenticalArmsDifferByExactlyNothingAndAResumeRerunsNothing() throws {
    let dir = try TestSupport.temporaryDirectory("compare").appendingPathComponent("cmp")
    let args = ["compare", "--arm", "grpo", "--arm", "again: --algo grpo", "--arm", "hot: --algo grpo --set rl.learningRate=0.05",
                "--seeds", "2", "--dir", dir.path, "--parallel", "2"] + TestSupport.tinyRunFlags + ["--steps", "3", "--set", "eval.every=2"]
    let r = try TestSupport.run(rlax, args)
    XCTAssertEqual(r.status, 0, r.output)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("comparison.json"))) as? [String: Any])
    XCTAssertEqual(json["baseline"] as? String, "grpo")
    XCTAssertEqual(json["seeds"] as? [Int], [1, 2])
    let differences = try XCTUnwrap(json["differences"] as? [[String: Any]])
    let again = try XCTUnwrap(differences.first { $0["arm"] as? String == "again" && $0["metric"] as? String == "pass@1" })
    // The same algorithm, seed, warm start, prompts and sample streams: the same weights, so
    // every paired difference is 0 and no sign flip is more extreme than another.
    XCTAssertEqual(again["difference"] as? Double, 0)
    XCTAssertEqual(again["lower"] as? Double, 0)
    XCTAssertEqual(again["upper"] as? Double, 0)
    XCTAssertEqual(again["pValue"] as? Double, 1)
    XCTAssertEqual(again["pSeeds"] as? Double, 1)
    let hot = try XCTUnwrap(differences.first { $0["arm"] as? String == "hot" && $0["metric"] as? String == "pass@1" })
    // Two seeds: 4 sign assignments, so the seed-level p is at least 2/4 (or 1 when all tie).
    XCTAssertTrue([0.5, 1].contains(hot["pSeeds"] as? Double ?? -1), "\(hot)")
    XCTAssertEqual(again["significant"] as? Bool, false)
    for seed in [1, 2] {
      let a = try String(contentsOf: dir.appendingPathComponent("seed-\(seed)/grpo/summary.json"), encoding: .utf8)
      let b = try String(contentsOf: dir.appendingPathComponent("seed-\(seed)/again/summary.json"), encoding: .utf8)
      func sha(_ s: String) -> String? { s.range(of: #""weights_sha256" : "[0-9a-f]+""#, options: .regularExpression).map { String(s[$0]) } }
      XCTAssertNotNil(sha(a))
      XCTAssertEqual(sha(a), sha(b), "identical arms at seed \(seed)")
    }
    // Learning curves: 3 steps per run, identical arms identical curves.
    let curves = try XCTUnwrap(json["curves"] as? [String: [[String: Any]]])
    let reward = try XCTUnwrap(curves["grpo"]?.first { $0["metric"] as? String == "rewardMean" })
    XCTAssertEqual((reward["mean"] as? [Double])?.count, 3)
    XCTAssertEqual(reward["mean"] as? [Double], curves["again"]?.first { $0["metric"] as? String == "rewardMean" }?["mean"] as? [Double])
    XCTAssertNotNil(curves["grpo"]?.first { $0["metric"] as? String == "algorithm.kl" })
    XCTAssertEqual(reward["steps"] as? [Int], [1, 2, 3])
    // Held-out pass@1 at checkpoints: before RL, after step 2 (eval.every), after the last.
    let heldOut = try XCTUnwrap(curves["grpo"]?.first { $0["metric"] as? String == "heldOut.pass@1" })
    XCTAssertEqual(heldOut["steps"] as? [Int], [0, 2, 3])
    let arms = try XCTUnwrap(json["arms"] as? [String: [[String: Any]]])
    let finalPass = try XCTUnwrap(arms["grpo"]?.first { $0["metric"] as? String == "pass@1" }?["mean"] as? Double)
    XCTAssertEqual(try XCTUnwrap((heldOut["mean"] as? [Double])?.last), finalPass, accuracy: 1e-9)
    let markdown = try String(contentsOf: dir.appendingPathComponent("comparison.md"), encoding: .utf8)
    XCTAssertTrue(markdown.contains("| grpo (baseline) |") && markdown.contains("| hot | pass@1 |"), markdown)

    let again2 = try TestSupport.run(rlax, args)
    XCTAssertEqual(again2.status, 0, again2.output)
    XCTAssertEqual(again2.output.components(separatedBy: "done already").count - 1, 8, "2 warm starts + 6 runs kept: \(again2.output)")

    let other = try TestSupport.run(rlax, ["compare", "--arm", "grpo", "--arm", "dapo", "--seeds", "2", "--dir", dir.path] + TestSupport.tinyRunFlags)
    XCTAssertNotEqual(other.status, 0)
    XCTAssertTrue(other.output.contains("holds another comparison"), other.output)
  }
}
