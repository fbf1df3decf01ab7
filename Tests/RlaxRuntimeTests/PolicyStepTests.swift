import Foundation
import RlaxModel
import RlaxPlugins
import RlaxTasks
import RlaxTestSupport
import RlaxTraining
import XCTest

@testable import RlaxRuntime

/// One trainer step moves probability toward the samples with positive advantage.
final class PolicyStepTests: XCTestCase {
  /// A one-layer model on two-digit sums, 4-token answers, with `edits` on top.
  func tinyConfig(_ edits: [String]) throws -> RunConfig {
    var config = try RunConfigLoader.load(edits: [
      "task.name=arithmetic", #"task.options={"minDigits":"1","maxDigits":"2","ops":"+"}"#,
      "model.modelDim=32", "model.numLayers=1", "model.maxSeqLen=24", "model.layer.attention.numHeads=2",
      "model.layer.attention.numKVHeads=1", "model.layer.attention.headDim=16", "model.layer.feedForward.hiddenDim=64",
    ] + edits)
    config.rl.sampler.maxNewTokens = 4
    return config
  }

  func testAStepRaisesTheLogprobOfRewardedSamples() throws {
    let config = try tinyConfig(["rl.learningRate=0.001", "schedule.warmupSteps=0", "rl.algorithmOptions={\"kl_beta\":\"0\"}"])
    let backend = try Backend(library: TestSupport.bundled("cpu-blas"))
    let model = try DecoderModel(config: config.model, backend: backend)
    try model.initialize(seed: 5)
    let old = try DecoderModel(config: config.model, backend: backend)
    let flat = try backend.download(model.params.flat(model.params.values))
    try flat.withUnsafeBytes { try old.params.values.write($0) }
    let sampler = try Sampler(model: model, config: config.rl.sampler, stopToken: 2)
    let controller = Controller(config: config.rl, task: try config.task.make())
    var groups: [GroupRollout] = []
    for index in 0..<4 {
      let item = try controller.workItem(step: 0, index: index)
      let completions = try sampler.generate(prompts: [[Int32]](repeating: item.promptTokens, count: item.seeds.count), seeds: item.seeds)
      // Reward the first half of each group: a synthetic signal with known sign.
      let rewards = completions.indices.map { $0 < completions.count / 2 ? 1.0 : 0.0 }
      groups.append(GroupRollout(item: item, version: 0, completions: completions.map(\.tokens), samplerLogprobs: completions.map(\.logprobs),
                                 texts: [], rewards: rewards, worker: "worker-0", started: Date(), seconds: 0))
    }
    let run = try RLRun(config: config, options: RLRun.Options(runDir: try TestSupport.temporaryDirectory("policy-step")))
    let algorithm = try Algorithm("grpo", options: PluginOptions([("kl_beta", "0")]))
    let optimizer = try AdamW(config: config.optimizer, params: model.params)
    let batch = StepBatch(groups: groups, padToken: 0)
    let before = batch.responses(try model.logprobs(try model.forward(batch.tokens, saveForBackward: false)))
    _ = try run.trainStep(step: 0, groups: groups, model: model, old: old, reference: old, optimizer: optimizer, algorithm: algorithm)
    let after = batch.responses(try model.logprobs(try model.forward(batch.tokens, saveForBackward: false)))
    let mask = batch.mask
    var rewarded = 0.0, unrewarded = 0.0
    for row in 0..<batch.numSequences {
      let change = (0..<batch.responseLength).reduce(0.0) { $0 + Double(mask[row * batch.responseLength + $1]) * Double(after[row * batch.responseLength + $1] - before[row * batch.responseLength + $1]) }
      if batch.rewards[row] > 0 { rewarded += change } else { unrewarded += change }
    }
    XCTAssertGreaterThan(rewarded, 0, "rewarded samples became more likely")
    XCTAssertLessThan(unrewarded, 0, "unrewarded samples became less likely")
  }

  /// At k = 0 the trainer skips the old-policy forward (the rollouts' weights are its own): the
  /// step must be bit-identical to one that recomputes with an exact replica.
  func testAnOnPolicyStepWithoutAReplicaEqualsOneWithAnExactReplica() throws {
    let config = try tinyConfig(["rl.learningRate=0.001", "schedule.warmupSteps=0"])
    let backend = try Backend(library: TestSupport.bundled("cpu-blas"))
    func copy(of model: DecoderModel) throws -> DecoderModel {
      let twin = try DecoderModel(config: config.model, backend: backend)
      let flat = try backend.download(model.params.flat(model.params.values))
      try flat.withUnsafeBytes { try twin.params.values.write($0) }
      return twin
    }
    let model = try DecoderModel(config: config.model, backend: backend)
    try model.initialize(seed: 9)
    let twin = try copy(of: model), replica = try copy(of: model), reference = try copy(of: model)
    let sampler = try Sampler(model: model, config: config.rl.sampler, stopToken: 2)
    let controller = Controller(config: config.rl, task: try config.task.make())
    var groups: [GroupRollout] = []
    for index in 0..<3 {
      let item = try controller.workItem(step: 0, index: index)
      let completions = try sampler.generate(prompts: [[Int32]](repeating: item.promptTokens, count: item.seeds.count), seeds: item.seeds)
      let rewards = completions.indices.map { $0 % 3 == 0 ? 1.0 : 0.0 }
      groups.append(GroupRollout(item: item, version: 0, completions: completions.map(\.tokens), samplerLogprobs: completions.map(\.logprobs),
                                 texts: [], rewards: rewards, worker: "worker-0", started: Date(), seconds: 0))
    }
    let run = try RLRun(config: config, options: RLRun.Options(runDir: try TestSupport.temporaryDirectory("on-policy-step")))
    let algorithm = try Algorithm("grpo")  // kl_beta 0.04: the reference pass runs too
    let withReplica = try run.trainStep(step: 0, groups: groups, model: model, old: replica, reference: reference,
                                        optimizer: try AdamW(config: config.optimizer, params: model.params), algorithm: algorithm)
    let withoutReplica = try run.trainStep(step: 0, groups: groups, model: twin, old: nil, reference: reference,
                                           optimizer: try AdamW(config: config.optimizer, params: twin.params), algorithm: algorithm)
    XCTAssertEqual(withReplica.loss, withoutReplica.loss)
    XCTAssertEqual(withReplica.maxRatioDeviation, 0, "the replica's log-probs equal the policy's exactly")
    let a = try backend.download(model.params.flat(model.params.values))
    let b = try backend.download(twin.params.flat(twin.params.values))
    XCTAssertTrue(a == b, "bit-identical weights after the step")
    XCTAssertFalse(a == (try backend.download(replica.params.flat(replica.params.values))), "the step changed the weights")
  }

  /// With one update per step the ratio is exactly 1 on-policy, so the clip range cannot
  /// matter; with several epochs (or minibatches) the later updates see ratios away from 1 and
  /// clipping changes them.
  func testClippingChangesTheUpdateOnlyWhenAStepMakesSeveralUpdates() throws {
    let config = try tinyConfig(["rl.learningRate=0.05", "schedule.warmupSteps=0", "rl.promptsPerStep=4"])
    let backend = try Backend(library: TestSupport.bundled("cpu-blas"))
    let start = try DecoderModel(config: config.model, backend: backend)
    try start.initialize(seed: 11)
    let initial = try backend.download(start.params.flat(start.params.values))
    let sampler = try Sampler(model: start, config: config.rl.sampler, stopToken: 2)
    let controller = Controller(config: config.rl, task: try config.task.make())
    var groups: [GroupRollout] = []
    for index in 0..<4 {
      let item = try controller.workItem(step: 0, index: index)
      let completions = try sampler.generate(prompts: [[Int32]](repeating: item.promptTokens, count: item.seeds.count), seeds: item.seeds)
      groups.append(GroupRollout(item: item, version: 0, completions: completions.map(\.tokens), samplerLogprobs: completions.map(\.logprobs),
                                 texts: [], rewards: completions.indices.map { $0 % 2 == 0 ? 1.0 : 0.0 }, worker: "worker-0", started: Date(), seconds: 0))
    }
    /// The weights after one RL step with `epochs` x `minibatches` updates and a clip range.
    func weights(epochs: Int, minibatches: Int, clip: (String, String)) throws -> ([Float], StepMetrics) {
      var c = config
      c.rl.updateEpochs = epochs
      c.rl.minibatches = minibatches
      let model = try DecoderModel(config: c.model, backend: backend)
      try initial.withUnsafeBytes { try model.params.values.write($0) }
      let run = try RLRun(config: c, options: RLRun.Options(runDir: try TestSupport.temporaryDirectory("epochs")))
      let algorithm = try Algorithm("grpo", options: PluginOptions([("kl_beta", "0"), ("clip_low", clip.0), ("clip_high", clip.1)]))
      let metrics = try run.trainStep(step: 0, groups: groups, model: model, old: nil, reference: model,
                                      optimizer: try AdamW(config: c.optimizer, params: model.params), algorithm: algorithm)
      return (try backend.download(model.params.flat(model.params.values)), metrics)
    }
    let tight = ("0.05", "0.05"), loose = ("1", "10")
    let (oneTight, oneMetrics) = try weights(epochs: 1, minibatches: 1, clip: tight)
    let (oneLoose, _) = try weights(epochs: 1, minibatches: 1, clip: loose)
    XCTAssertEqual(oneMetrics.maxRatioDeviation, 0)
    XCTAssertTrue(oneTight == oneLoose, "one update: the ratio is 1, the clip range cannot matter")
    XCTAssertFalse(oneTight == initial)
    let (threeTight, threeMetrics) = try weights(epochs: 3, minibatches: 1, clip: tight)
    let (threeLoose, _) = try weights(epochs: 3, minibatches: 1, clip: loose)
    XCTAssertGreaterThan(threeMetrics.maxRatioDeviation, 0.05, "later epochs see ratios outside the clip range")
    XCTAssertGreaterThan(threeMetrics.algorithm["clip_fraction"] ?? 0, 0)
    XCTAssertFalse(threeTight == threeLoose, "three epochs: clipping changes the update")
    XCTAssertFalse(threeTight == oneTight)
    let (halvesTight, _) = try weights(epochs: 1, minibatches: 2, clip: tight)
    let (halvesLoose, _) = try weights(epochs: 1, minibatches: 2, clip: loose)
    XCTAssertFalse(halvesTight == halvesLoose, "two minibatches: the second sees the first's update, clipped")
  }
}
