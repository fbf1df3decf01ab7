import Foundation
import RlaxPlugins
import RlaxRuntime
import RlaxTestSupport
import RlaxTraining
import XCTest

/// The properties RLAX promises, on a tiny model: alignment (k = 0 ratios exactly 1),
/// determinism whatever the worker count, exact resume, and staleness bounds.
final class RuntimePropertyTests: XCTestCase {
  func config(_ extra: [String] = []) throws -> RunConfig {
    try RunConfigLoader.load(edits: [
      "task.name=arithmetic", #"task.options={"minDigits":"1","maxDigits":"2","ops":"+"}"#,
      "model.modelDim=32", "model.numLayers=1", "model.maxSeqLen=24", "model.layer.attention.numHeads=2",
      "model.layer.attention.numKVHeads=1", "model.layer.attention.headDim=16", "model.layer.feedForward.hiddenDim=64",
      "rl.warmStartSteps=30", "rl.steps=6", "rl.promptsPerStep=4", "rl.groupSize=4", "rl.sampler.maxNewTokens=4",
      "rl.checkpointEvery=0", "sft.batchSize=16", "eval.problems=4", "eval.samples=2", "eval.ks=[1,2]",
      "eval.sampler.maxNewTokens=4", "rl.learningRate=0.01",
    ] + extra)
  }

  func run(_ config: RunConfig, dir: URL, resume: Bool = false, stopAfter: Int? = nil) throws -> RunSummary {
    _ = try TestSupport.bundled("cpu-blas")
    var options = RLRun.Options(runDir: dir)
    options.resume = resume
    options.stopAfter = stopAfter
    options.quiet = true
    return try RLRun(config: config, options: options).run()
  }

  func metrics(_ dir: URL) throws -> [[String: Any]] {
    try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
  }

  func testOnPolicyRatiosAreExactlyOneAndTheRunIsDeterministicAcrossWorkerCounts() throws {
    let one = try run(try config(["rl.workers=1"]), dir: try TestSupport.temporaryDirectory("rl-one"))
    let threeDir = try TestSupport.temporaryDirectory("rl-three")
    let three = try run(try config(["rl.workers=3"]), dir: threeDir)
    XCTAssertEqual(one.weightsSHA256, three.weightsSHA256, "1 and 3 workers end with bit-identical weights")
    XCTAssertEqual(one.weightsSHA256.count, 64)
    for m in try metrics(threeDir) {
      XCTAssertEqual(m["maxRatioDeviation"] as? Double, 0, "k = 0: trainer-recomputed behaviour log-probs equal current ones exactly")
      // The workers' own log-probs (KV-cache, token by token) agree with the trainer's full
      // forward pass: the rollouts came from the trainer's weights of that step.
      XCTAssertLessThan(m["samplerMismatch"] as? Double ?? 1, 1e-3)
      XCTAssertEqual(m["versionLag"] as? Int, 0)
    }
    XCTAssertEqual(three.accounting.issued, 6 * 4)
    XCTAssertEqual(three.accounting.consumed, 6 * 4)
    XCTAssertNotNil(three.eval.before["pass@1"])
    XCTAssertNotNil(three.eval.after["pass@2"])
  }

  func testResumeAfterAStopGivesTheSameWeightsAsAnUninterruptedRun() throws {
    let straight = try run(try config(), dir: try TestSupport.temporaryDirectory("rl-straight"))
    let dir = try TestSupport.temporaryDirectory("rl-resume")
    let stopped = try run(try config(), dir: dir, stopAfter: 3)
    XCTAssertEqual(stopped.steps, 3)
    let resumed = try run(try config(), dir: dir, resume: true)
    XCTAssertEqual(resumed.resumedFromStep, 3)
    XCTAssertEqual(resumed.weightsSHA256, straight.weightsSHA256)
    // Every (step, prompt) group was consumed once: 3 before the stop, 3 after.
    XCTAssertEqual(resumed.accounting.consumed, straight.accounting.consumed)
    XCTAssertEqual(try metrics(dir).map { $0["step"] as! Int }, Array(0..<6))
  }

  func testStalenessOneOverlapsAndStaysWithinTheBound() throws {
    let dir = try TestSupport.temporaryDirectory("rl-stale")
    let a = try run(try config(["rl.maxStaleness=1", "rl.workers=2"]), dir: dir)
    let lags = try metrics(dir).map { $0["versionLag"] as! Int }
    XCTAssertEqual(lags, [0, 1, 1, 1, 1, 1], "step 0 uses version 0; later steps one version behind")
    let b = try run(try config(["rl.maxStaleness=1", "rl.workers=1"]), dir: try TestSupport.temporaryDirectory("rl-stale1"))
    XCTAssertEqual(a.weightsSHA256, b.weightsSHA256, "staleness is deterministic too")
    let resumeDir = try TestSupport.temporaryDirectory("rl-stale-resume")
    _ = try run(try config(["rl.maxStaleness=1"]), dir: resumeDir, stopAfter: 2)
    XCTAssertEqual(try run(try config(["rl.maxStaleness=1"]), dir: resumeDir, resume: true).weightsSHA256, a.weightsSHA256,
                   "resume restores the older version the next step still needs")
  }

  func testFileStoreAndDynamicSamplingRun() throws {
    let dir = try TestSupport.temporaryDirectory("rl-dapo")
    let s = try run(try config(["rl.algorithm=dapo", "rl.store=file"]), dir: dir)
    XCTAssertEqual(s.store, "file")
    XCTAssertGreaterThanOrEqual(s.accounting.consumed, 6 * 4)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("weights").path))
  }
}

extension RuntimePropertyTests {
  func foreign(_ symbol: String, _ signature: String, timeout: Double = 5) throws -> String {
    let library = try TestSupport.compilePlugin(["Tests/Fixtures/rewards/rewards.c"], name: "rewards")
    let object: [String: Any] = ["timeoutSeconds": timeout, "foreign": ["library": library, "symbol": symbol, "signature": signature]]
    return "rl.reward=" + String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
  }

  func testAForeignCRewardScoresLikeTheBuiltInVerifier() throws {
    let builtIn = try run(try config(["rl.steps=2"]), dir: try TestSupport.temporaryDirectory("rl-builtin"))
    let viaFFI = try run(try config(["rl.steps=2", try foreign("answer_match", "(cstring completion, cstring answer) -> double")]),
                         dir: try TestSupport.temporaryDirectory("rl-ffi"))
    XCTAssertEqual(viaFFI.weightsSHA256, builtIn.weightsSHA256, "exact-match in C gives the same rewards, so the same run")
    XCTAssertEqual(viaFFI.rewardWarnings, 0)
  }

  func testARewardFailingOnMostSamplesStopsTheRunNamingIt() throws {
    var c = try config(["rl.steps=3", "rl.promptsPerStep=2", "rl.groupSize=2", try foreign("hang", "(cstring prompt, cstring completion) -> double", timeout: 0.2)])
    c.rl.reward.failureWindow = 4
    XCTAssertThrowsError(try run(c, dir: try TestSupport.temporaryDirectory("rl-fail-share"))) { error in
      XCTAssertTrue("\(error)".hasPrefix("rollout worker ") && "\(error)".contains("(step 0, prompt"), "the error names the worker: \(error)")
      XCTAssertTrue("\(error)".contains(#"reward function "hang@rewards.so" failed on 3 of the last"#), "\(error)")
      XCTAssertTrue("\(error)".contains("timeouts 3"), "\(error)")
    }
  }

  func testAHangingOrCrashingRewardCostsZeroAndAWarningNotTheRun() throws {
    let hang = try run(try config(["rl.steps=1", "rl.promptsPerStep=2", "rl.groupSize=2", try foreign("hang", "(cstring prompt, cstring completion) -> double", timeout: 0.2)]),
                       dir: try TestSupport.temporaryDirectory("rl-hang"))
    XCTAssertEqual(hang.rewardWarnings, 4)
    let crash = try run(try config(["rl.steps=1", "rl.promptsPerStep=2", "rl.groupSize=2", try foreign("crash", "(cstring prompt, cstring completion) -> double")]),
                        dir: try TestSupport.temporaryDirectory("rl-crash"))
    XCTAssertEqual(crash.rewardWarnings, 4)
    XCTAssertEqual(crash.steps, 1)
  }
}

extension RuntimePropertyTests {
  func testTPUSimPreemptionsAreSurvivedWithTheSameFinalWeights() throws {
    func tpuRun(_ extra: [(String, String)], _ label: String) throws -> RunSummary {
      var options = RLRun.Options(runDir: try TestSupport.temporaryDirectory(label))
      options.backend = "tpu-sim"
      options.backendOptions = PluginOptions([("slice", "v5p-8")] + extra)
      options.quiet = true
      let summary = try RLRun(config: try config(["rl.steps=3", "rl.warmStartSteps=10"]), options: options).run()
      for m in try metrics(options.runDir) {
        let sim = m["simulated"] as? [String: Double]
        XCTAssertGreaterThan(sim?["seconds"] ?? 0, 0, "each step reports its simulated time")
        XCTAssertGreaterThan(sim?["collectives"] ?? 0, 0, "the gradient all-reduce is costed every step")
        XCTAssertLessThanOrEqual((sim?["compute"] ?? 0) + (sim?["memory"] ?? 0) + (sim?["collectives"] ?? 0), (sim?["seconds"] ?? 0) + 1e-12)
      }
      return summary
    }
    let calm = try tpuRun([], "tpu-calm")
    let stormy = try tpuRun([("preempt_prob", "0.01"), ("preempt_seed", "3")], "tpu-stormy")
    XCTAssertEqual(calm.preemptionsSurvived, 0)
    XCTAssertGreaterThan(stormy.preemptionsSurvived, 0)
    XCTAssertEqual(stormy.weightsSHA256, calm.weightsSHA256, "preempted work is redone exactly")
    XCTAssertGreaterThan(calm.simulatedSeconds?.trainer ?? 0, 0, "tpu-sim reports simulated device time")
  }
}
