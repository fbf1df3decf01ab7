import Foundation
import RlaxModel
import RlaxPlugins
import RlaxRewards
import RlaxTasks
import RlaxTestSupport
import RlaxTraining
import XCTest

@testable import RlaxRuntime

/// DAPO's dynamic sampling in a real run (issue 17): the run must drop groups whose rewards are
/// all equal, generate refill groups, and train on exactly the groups the rule names.
///
/// The expected outcome is recomputed here without the trainer loop: every version the run
/// published is read back from its file store, every group the controller could have issued
/// for a step (the promptsPerStep groups and up to maxRefills rounds of refills) is generated
/// again with the worker's sampler and the run's seeds, and DAPO's rule is applied by hand
/// (keep a group when 0 < #correct < G, i.e. its rewards are not all equal). Then:
/// - refill rounds: the fewest rounds after which promptsPerStep groups are kept, or
///   maxRefills; generatedGroups = promptsPerStep * (rounds + 1);
/// - kept groups: the first promptsPerStep kept groups in index order; keptGroups, the step's
///   rewardMean and trainPassAt1 (which the trainer computes over the rows it trained on)
///   must match those groups' rewards;
/// - summary accounting: droppedByDynamicSampling = sum(generated - kept), consumed = sum(generated).
/// The run is chosen so that drops and refills are certain (asserted, not assumed): an
/// undertrained model (few warm-start steps) and groups of 2 make flat groups common.
final class DynamicSamplingTests: XCTestCase {
  func config(warmStartSteps: Int, extra: [String] = ["rl.algorithm=dapo", "rl.groupSize=3"]) throws -> RunConfig {
    try RunConfigLoader.load(edits: [
      "task.name=arithmetic", #"task.options={"minDigits":"1","maxDigits":"1","ops":"+"}"#,
      "model.modelDim=32", "model.numLayers=1", "model.maxSeqLen=24", "model.layer.attention.numHeads=2",
      "model.layer.attention.numKVHeads=1", "model.layer.attention.headDim=16", "model.layer.feedForward.hiddenDim=64",
      "rl.warmStartSteps=\(warmStartSteps)", "rl.steps=5", "rl.promptsPerStep=4", "rl.sampler.maxNewTokens=4",
      "rl.checkpointEvery=0", "sft.batchSize=16", "eval.problems=4", "eval.samples=2", "eval.ks=[1,2]",
      "eval.sampler.maxNewTokens=4", "rl.learningRate=0.01",
      "rl.store=file", "rl.keepVersions=100", "rl.maxRefills=3", "rl.workers=2",
    ] + extra)
  }

  struct Expected {
    var generated: Int
    var kept: [Int]  // indices of the kept groups, in order
    var keepable: Int  // generated groups the rule would keep (may exceed promptsPerStep)
    var rewards: [[Double]]  // rewards of every generated group, by index
    var groups: [GroupRollout]  // every generated group, by index
  }

  /// DAPO's rule and the controller's refill schedule, recomputed from regenerated groups.
  func expected(step: Int, config: RunConfig, controller: Controller, model: DecoderModel, sampler: Sampler,
                keeps: ([Double]) -> Bool, score: (Problem, String) -> Double) throws -> Expected {
    let rl = config.rl
    var rewards: [[Double]] = [], groups: [GroupRollout] = []
    func generate(_ indices: Range<Int>) throws {
      for index in indices {
        let item = try controller.workItem(step: step, index: index)
        let completions = try sampler.generate(prompts: [[Int32]](repeating: item.promptTokens, count: item.seeds.count), seeds: item.seeds)
        rewards.append(completions.map { score(item.problem, controller.format.completionText($0.tokens)) })
        groups.append(GroupRollout(item: item, version: item.version, completions: completions.map(\.tokens),
                                   samplerLogprobs: completions.map(\.logprobs), texts: [], rewards: rewards.last!, worker: "worker-0",
                                   started: Date(), seconds: 0))
      }
    }
    try generate(0..<rl.promptsPerStep)
    var rounds = 0
    while rewards.filter(keeps).count < rl.promptsPerStep && rounds < rl.maxRefills {
      rounds += 1
      try generate((rl.promptsPerStep * rounds)..<(rl.promptsPerStep * (rounds + 1)))
    }
    let kept = Array(rewards.indices.filter { keeps(rewards[$0]) }.prefix(rl.promptsPerStep))
    return Expected(generated: rl.promptsPerStep * (rounds + 1), kept: kept, keepable: rewards.filter(keeps).count, rewards: rewards,
                    groups: groups)
  }

  /// What the runs exercised, so the test can insist that every branch of the rule was taken.
  struct Coverage {
    var refilledSteps = 0  // steps that generated refill groups
    var partiallyKeptSteps = 0  // steps that trained on a refill group
    var surplusSteps = 0  // steps with more keepable groups than promptsPerStep (the first ones win)
    var exactStops = 0  // steps that stopped refilling as soon as promptsPerStep groups were kept
    var exhaustedSteps = 0  // steps that hit maxRefills with fewer kept groups
    var skipped = 0  // groups curation skipped
  }

  /// Three runs from warm starts of different strength (200, 300, 400 SFT steps): the weaker
  /// ones often stop refilling exactly at promptsPerStep or run out of refills, the stronger
  /// ones get refill rounds that bring more keepable groups than needed. (Several runs so that
  /// the coverage asserts below do not hang on one run's luck.)
  func testDynamicSamplingRefillsAndKeepsTheGroupsTheRuleNames() throws {
    var coverage = Coverage()
    for warmStartSteps in [200, 300, 400] {
      // 0 < #correct < G for 0/1 rewards: the group's rewards are not all equal.
      try checkRun(config: try config(warmStartSteps: warmStartSteps), coverage: &coverage) { r in r.contains { $0 != r[0] } }
    }
    XCTAssertGreaterThan(coverage.refilledSteps, 0, "refills happened (drops were certain)")
    XCTAssertGreaterThan(coverage.partiallyKeptSteps, 0, "a refill group was kept in place of a dropped one")
    XCTAssertGreaterThan(coverage.surplusSteps, 0, "a step had more keepable groups than it needs: which ones it keeps matters")
    XCTAssertGreaterThan(coverage.exactStops, 0, "a step stopped refilling as soon as it had enough")
    XCTAssertGreaterThan(coverage.exhaustedSteps, 0, "a step ran out of refills")
    print("coverage: \(coverage)")
  }

  /// Online curation (rl.curation.band) with GRPO, which selects nothing itself: the same
  /// refill schedule, with the band as the rule. Groups of 4 and the band [0.25, 0.5] keep
  /// groups with 1 or 2 of 4 correct and skip 0, 3 and 4: a rule DAPO's does not match.
  func testOnlineCurationTrainsOnlyOnGroupsInsideTheBand() throws {
    var coverage = Coverage()
    for warmStartSteps in [200, 400] {
      let config = try config(warmStartSteps: warmStartSteps, extra: ["rl.algorithm=grpo", "rl.groupSize=4", "rl.curation.band=[0.25,0.5]"])
      try checkRun(config: config, coverage: &coverage) { r in
        let correct = r.filter { $0 >= 1 }.count
        return correct == 1 || correct == 2
      }
    }
    XCTAssertGreaterThan(coverage.refilledSteps, 0, "refills happened")
    XCTAssertGreaterThan(coverage.partiallyKeptSteps, 0, "a refill group was trained on in place of a skipped one")
    XCTAssertGreaterThan(coverage.skipped, 0, "groups were skipped")
    print("coverage: \(coverage)")
  }

  /// One run of `config`, checked step by step against `keeps` applied to regenerated groups.
  func checkRun(config: RunConfig, coverage: inout Coverage, keeps: ([Double]) -> Bool) throws {
    let warmStartSteps = config.rl.warmStartSteps
    let curating = config.rl.curation.isActive
    let dir = try TestSupport.temporaryDirectory("rl-dynamic-sampling")
    _ = try TestSupport.bundled("cpu-blas")
    var options = RLRun.Options(runDir: dir)
    options.quiet = true
    let summary = try RLRun(config: config, options: options).run()
    let metrics = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    XCTAssertEqual(metrics.count, config.rl.steps)

    // The worker's side, rebuilt: the run's published versions, its sampler and its reward.
    let backend = try Backend(library: TestSupport.bundled("cpu-blas"))
    let store = try WeightStore(library: TestSupport.bundled("file"),
                                options: PluginOptions([("dir", dir.appendingPathComponent("weights").path), ("keep", "100")]))
    let server = ParameterServer(store: store)
    let task = try config.task.make()
    let controller = Controller(config: config.rl, task: task)
    let reference = try Checkpoint.loadModel(dir.appendingPathComponent("reference"), backend: backend).model
    let model = try DecoderModel(config: reference.config, backend: backend)
    let tokenizer = PromptFormat().tokenizer
    let sampler = try Sampler(model: model, config: config.rl.sampler, stopToken: tokenizer.eosID, padToken: tokenizer.padID)
    let rewards = try RewardGuard(config: config.rl.reward, task: task)
    defer { rewards.close() }

    let algorithm = try Algorithm(library: TestSupport.bundled(config.rl.algorithm))
    var dropped = 0, consumed = 0, skipped = 0
    for (step, m) in metrics.enumerated() {
      XCTAssertEqual(m["step"] as? Int, step)
      try server.load(version: controller.version(step: step), into: model)
      let want = try expected(step: step, config: config, controller: controller, model: model, sampler: sampler, keeps: keeps) {
        rewards.score(problem: $0, completion: $1)
      }
      // Curation skips every generated group outside the band; dynamic sampling drops the rest
      // of what was not trained on.
      let outside = curating ? want.rewards.filter { !keeps($0) }.count : 0
      XCTAssertEqual(m["curationSkipped"] as? Int, curating ? outside : nil, "step \(step): groups curation skipped")
      let P = config.rl.promptsPerStep
      XCTAssertEqual(m["generatedGroups"] as? Int, want.generated, "step \(step): groups generated (\(P) + refills)")
      XCTAssertEqual(m["keptGroups"] as? Int, want.kept.count, "step \(step): groups kept")
      let keptRewards = want.kept.flatMap { want.rewards[$0] }
      if !keptRewards.isEmpty {
        // The trainer's reward statistics are over the rows it trained on: the kept groups.
        XCTAssertEqual(m["rewardMean"] as? Double ?? -1, keptRewards.reduce(0, +) / Double(keptRewards.count), accuracy: 1e-12,
                       "step \(step): trained on groups \(want.kept)")
        XCTAssertEqual(m["trainPassAt1"] as? Double ?? -1, Double(keptRewards.filter { $0 >= 1 }.count) / Double(keptRewards.count),
                       accuracy: 1e-12, "step \(step): trained on groups \(want.kept)")
      }
      if !want.kept.isEmpty {
        // A fingerprint of the trained rows that depends on their tokens and the weights: the
        // trainer's max |sampler log-prob - recomputed log-prob|, and DAPO's loss on them
        // (on-policy: -(sum of token advantages) / (counted tokens); GRPO's adds a KL term).
        let batch = StepBatch(groups: want.kept.map { want.groups[$0] }, padToken: 0)
        let logprobs = batch.responses(try model.logprobs(try model.forward(batch.tokens, saveForBackward: false)))
        let mask = batch.mask
        var mismatch = 0.0
        for i in mask.indices where mask[i] != 0 { mismatch = max(mismatch, Double(abs(batch.samplerLogprobs[i] - logprobs[i]))) }
        XCTAssertEqual(m["samplerMismatch"] as? Double ?? -1, mismatch, accuracy: 1e-12, "step \(step): trained on groups \(want.kept)")
      }
      if !want.kept.isEmpty && config.rl.algorithm == "dapo" {
        let batch = StepBatch(groups: want.kept.map { want.groups[$0] }, padToken: 0)
        let logprobs = batch.responses(try model.logprobs(try model.forward(batch.tokens, saveForBackward: false)))
        var rollouts = RolloutBatch(numSequences: batch.numSequences, numTokens: batch.responseLength, groupIDs: batch.groupIDs,
                                    rewards: batch.rewards, mask: batch.mask, behaviorLogprobs: logprobs, logprobs: logprobs,
                                    maxResponseTokens: config.rl.sampler.maxNewTokens)
        rollouts.advantages = try algorithm.computeAdvantages(rollouts)
        XCTAssertEqual(m["loss"] as? Double ?? .nan, try algorithm.computeLoss(rollouts).loss, accuracy: 1e-9,
                       "step \(step): trained on groups \(want.kept)")
      }
      let maxGenerated = P * (config.rl.maxRefills + 1)
      if want.generated > P { coverage.refilledSteps += 1 }
      if want.kept.contains(where: { $0 >= P }) { coverage.partiallyKeptSteps += 1 }
      if want.keepable > P { coverage.surplusSteps += 1 }
      if want.keepable == P && want.generated < maxGenerated { coverage.exactStops += 1 }
      if want.keepable < P && want.generated == maxGenerated { coverage.exhaustedSteps += 1 }
      dropped += want.generated - want.kept.count - outside
      skipped += outside
      coverage.skipped += outside
      consumed += want.generated
      print("warm start \(warmStartSteps) step \(step): generated \(want.generated), keepable \(want.keepable), kept \(want.kept), rewards \(want.rewards)")
    }
    XCTAssertEqual(summary.accounting.droppedByDynamicSampling, dropped, "warm start \(warmStartSteps): groups dropped (generated - kept - skipped)")
    XCTAssertEqual(summary.accounting.skippedByCuration, skipped, "warm start \(warmStartSteps): groups curation skipped")
    XCTAssertEqual(summary.accounting.consumed, consumed, "warm start \(warmStartSteps): groups consumed (all generated)")
    XCTAssertEqual(summary.accounting.issued, consumed, "warm start \(warmStartSteps): groups issued")
  }
}
