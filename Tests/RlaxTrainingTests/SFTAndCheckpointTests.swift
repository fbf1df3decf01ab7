import Foundation
import RlaxModel
import RlaxPlugins
import RlaxSafeTensors
import RlaxTasks
import RlaxTestSupport
import RlaxTraining
import XCTest

/// SFT learns, is deterministic, and checkpoints round-trip and resume exactly; broken
/// checkpoints are clear errors.
final class SFTAndCheckpointTests: XCTestCase {
  func tinyConfig(steps: Int = 40) throws -> RunConfig {
    try RunConfigLoader.load(edits: [
      "task.name=arithmetic", "model.modelDim=32", "model.numLayers=1", "model.maxSeqLen=16", "model.layer.attention.numHeads=2",
      "model.layer.attention.numKVHeads=1", "model.layer.attention.headDim=16", "model.layer.feedForward.hiddenDim=64",
      "sft.batchSize=16", "sft.steps=\(steps)", "eval.sampler.maxNewTokens=4", "schedule.warmupSteps=5", "optimizer.learningRate=0.01",
      #"task.options={"minDigits":"1","maxDigits":"1","ops":"+"}"#,
    ])
  }

  func backend() throws -> Backend { try Backend(library: TestSupport.bundled("cpu-blas")) }

  func trainer(_ config: RunConfig, seed: UInt64 = 1) throws -> SFTTrainer {
    let model = try DecoderModel(config: config.model, backend: try backend())
    try model.initialize(seed: seed)
    return try SFTTrainer(config: config, model: model)
  }

  func testBatchesTrainOnlyOnAnswerTokens() throws {
    let t = try trainer(try tinyConfig())
    let (batch, weights) = try t.batch(step: 0)
    let format = PromptFormat()
    // Row 0: BOS a + b = answer EOS; targets from the first answer token on carry weight.
    let row = Array(batch.tokens[0..<batch.length]), w = Array(weights[0..<batch.length])
    let eq = row.firstIndex(of: try format.tokenizer.encode("=")[0])!
    XCTAssertTrue(w[..<eq].allSatisfy { $0 == 0 }, "prompt positions predict prompt tokens: no weight")
    XCTAssertEqual(w[eq], 1, "the position of '=' predicts the first answer token")
    XCTAssertEqual(Array(batch.targets[0..<batch.length])[Int(w.lastIndex(of: 1)!)], format.tokenizer.eosID)
  }

  func testSFTLowersTheLossAndIsDeterministic() throws {
    let config = try tinyConfig()
    let a = try trainer(config), b = try trainer(config)
    var lossesA: [Double] = [], lossesB: [Double] = []
    for _ in 0..<config.sft.steps { lossesA.append(try a.trainStep().loss) }
    for _ in 0..<config.sft.steps { lossesB.append(try b.trainStep().loss) }
    XCTAssertEqual(lossesA, lossesB, "same seed, same losses")
    XCTAssertEqual(try a.model.backend.download(a.model.params.flat(a.model.params.values)),
                   try b.model.backend.download(b.model.params.flat(b.model.params.values)))
    let first = lossesA.prefix(5).reduce(0, +) / 5, last = lossesA.suffix(5).reduce(0, +) / 5
    XCTAssertLessThan(last, first * 0.6, "loss \(first) -> \(last)")
  }

  func testCheckpointRoundTripAndExactResume() throws {
    let config = try tinyConfig(steps: 12)
    let dir = try TestSupport.temporaryDirectory("ckpt")
    let straight = try trainer(config)
    for _ in 0..<12 { _ = try straight.trainStep() }

    let first = try trainer(config)
    for _ in 0..<6 { _ = try first.trainStep() }
    try first.save(to: dir)
    let (model, state) = try Checkpoint.loadModel(dir, backend: try backend())
    XCTAssertEqual(state.step, 6)
    XCTAssertEqual(try model.backend.download(model.params.flat(model.params.values)),
                   try first.model.backend.download(first.model.params.flat(first.model.params.values)))
    let resumed = try SFTTrainer(config: config, model: model)
    try resumed.resume(from: dir)
    XCTAssertEqual(resumed.step, 6)
    for _ in 0..<6 { _ = try resumed.trainStep() }
    XCTAssertEqual(try model.backend.download(model.params.flat(model.params.values)),
                   try straight.model.backend.download(straight.model.params.flat(straight.model.params.values)),
                   "6 + 6 resumed steps give bit-identical weights to 12 straight")
  }

  func testBrokenCheckpointsAreClearErrors() throws {
    let config = try tinyConfig(steps: 1)
    let dir = try TestSupport.temporaryDirectory("broken")
    let t = try trainer(config)
    try t.save(to: dir)
    let weights = dir.appendingPathComponent(Checkpoint.modelFile)
    let bytes = try Data(contentsOf: weights)

    try bytes.prefix(bytes.count - 100).write(to: weights)
    XCTAssertThrowsError(try Checkpoint.loadModel(dir, backend: try backend())) { error in
      XCTAssertTrue("\(error)".contains("model.safetensors") && "\(error)".contains("truncated"), "\(error)")
    }
    var flipped = bytes
    flipped[bytes.count - 5] ^= 0x40
    try flipped.write(to: weights)
    XCTAssertThrowsError(try Checkpoint.loadModel(dir, backend: try backend())) { error in
      XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
    }
    try bytes.write(to: weights)
    var other = config.model
    other.numLayers = 2
    try JSONEncoder().encode(other).write(to: dir.appendingPathComponent(Checkpoint.configFile))
    XCTAssertThrowsError(try Checkpoint.loadModel(dir, backend: try backend())) { error in
      XCTAssertTrue("\(error)".contains("layers.1") && "\(error)".contains("missing"), "\(error)")
    }
    try FileManager.default.removeItem(at: dir.appendingPathComponent(Checkpoint.stateFile))
    XCTAssertThrowsError(try Checkpoint.loadModel(dir, backend: try backend())) { error in
      XCTAssertEqual(error as? CheckpointError, .incomplete(dir: dir.path, missing: "state.json"))
    }
  }

  func testEvaluatorReportsConsistentPassAtK() throws {
    var config = try tinyConfig(steps: 1)
    config.eval.problems = 6
    config.eval.samples = 4
    config.eval.ks = [1, 2, 4]
    let t = try trainer(config)
    let report = try Evaluator(config: config.eval, task: try config.task.make()).evaluate(t.model)
    XCTAssertEqual(report.details.count, 6)
    XCTAssertTrue(report.details.allSatisfy { $0.samples.count == 4 })
    // With binary rewards, pass@1 is the mean reward; pass@k grows with k.
    XCTAssertEqual(report.passAtK["pass@1"]!, report.meanReward, accuracy: 1e-12)
    XCTAssertLessThanOrEqual(report.passAtK["pass@1"]!, report.passAtK["pass@2"]!)
    XCTAssertLessThanOrEqual(report.passAtK["pass@2"]!, report.passAtK["pass@4"]!)
    let expected = report.details.map { PassAtK.unbiased(n: 4, c: $0.correct, k: 2) }.reduce(0, +) / 6
    XCTAssertEqual(report.passAtK["pass@2"]!, expected, accuracy: 1e-12)
    let again = try Evaluator(config: config.eval, task: try config.task.make()).evaluate(t.model)
    XCTAssertEqual(again.details.map(\.samples), report.details.map(\.samples), "evaluation is deterministic")
    XCTAssertTrue(report.details.allSatisfy { Split.containing(prompt: $0.prompt) == .heldOut })
  }
}

extension SFTAndCheckpointTests {
  /// A checkpoint whose weights hold a NaN (checksums intact: written that way) does not load:
  /// the error names the file and the tensor.
  func testNaNInALoadedCheckpointNamesTheFileAndTensor() throws {
    let t = try trainer(try tinyConfig(steps: 2))
    let dir = try TestSupport.temporaryDirectory("nan-checkpoint").appendingPathComponent("ckpt")
    try t.save(to: dir)
    let file = dir.appendingPathComponent(Checkpoint.modelFile)
    let contents = try SafeTensors.read(file)
    let poisoned = try contents.tensors.map { tensor -> SafeTensor in
      guard tensor.name == "final_norm.scale" else { return tensor }
      var values = try tensor.floats
      values[1] = .nan
      return SafeTensor(name: tensor.name, shape: tensor.shape, floats: values)
    }
    XCTAssertTrue(poisoned.contains { $0.name == "final_norm.scale" }, "\(contents.tensors.map(\.name))")
    try SafeTensors.write(poisoned, metadata: contents.metadata.filter { !$0.key.hasPrefix("checksum") }, checksums: true, to: file)
    XCTAssertThrowsError(try Checkpoint.loadModel(dir, backend: try backend())) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains(file.path) && text.contains("final_norm.scale") && text.contains("nan"), text)
    }
  }
}
