import Foundation
import RlaxModel
import RlaxPlugins
import RlaxRuntime
import RlaxTestSupport
import RlaxTraining
import XCTest

/// A run with a lying algorithm or weight store stops with the plugin's name, and leaves the
/// weights as they were (Tests/Fixtures/broken/lying_*.c).
final class UntrustedPluginRunTests: XCTestCase {
  func config(_ extra: [String] = []) throws -> RunConfig {
    try RunConfigLoader.load(edits: [
      "task.name=arithmetic", #"task.options={"minDigits":"1","maxDigits":"2","ops":"+"}"#,
      "model.modelDim=32", "model.numLayers=1", "model.maxSeqLen=24", "model.layer.attention.numHeads=2",
      "model.layer.attention.numKVHeads=1", "model.layer.attention.headDim=16", "model.layer.feedForward.hiddenDim=64",
      "rl.warmStartSteps=0", "rl.steps=4", "rl.promptsPerStep=2", "rl.groupSize=2", "rl.sampler.maxNewTokens=4",
      "rl.checkpointEvery=1", "eval.problems=2", "eval.samples=1", "eval.ks=[1]", "eval.sampler.maxNewTokens=4",
    ] + extra)
  }

  func testALyingAlgorithmStopsTheRunBeforeTheOptimizerStepNamingThePlugin() throws {
    _ = try TestSupport.bundled("cpu-blas")
    let path = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_algorithm.c"], name: "lying-algorithm")
    let dir = try TestSupport.temporaryDirectory("rl-lying-algorithm")
    var options = RLRun.Options(runDir: dir)
    options.quiet = true
    // Honest for two steps, then a NaN loss at step 2.
    let run = try RLRun(config: try config(["rl.algorithm=\(path)", #"rl.algorithmOptions={"lie":"1","lie_after":"2"}"#]), options: options)
    XCTAssertThrowsError(try run.run()) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("plugin 'lying-algorithm': compute_loss returned bad output: the loss is nan, not a finite number"), text)
      XCTAssertTrue(text.contains("the weights are not updated"), text)
    }
    // Steps 0 and 1 were trained and checkpointed; step 2 changed nothing.
    let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    XCTAssertEqual(try Checkpoint.describe(dir.appendingPathComponent("checkpoint")).state.step, 2)
  }

  func model(_ backend: Backend) throws -> DecoderModel {
    let m = try DecoderModel(config: try config().model, backend: backend)
    try m.initialize(seed: 7)
    return m
  }

  func testTheParameterServerRefusesAVersionThatDoesNotCoverTheModelExactly() throws {
    let path = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_store.c"], name: "lying-store")
    let backend = try Backend(library: try TestSupport.bundled("cpu-blas"))
    let source = try model(backend)
    let expectations = [
      "missing": "load version 0 (store version 1) returned bad output: parameter 'final_norm.scale' is missing from the version",
      "dtype": "tensor 'embed.weight': expected F32 [96, 32] (12288 bytes), found BF16 [96, 32] (6144 bytes)",
      "shape": "tensor 'embed.weight': expected F32 [96, 32] (12288 bytes), found F32 [32, 96] (12288 bytes)",
      "extra": "tensor 'stowaway' F32 [1] (4 bytes) is not a parameter of the model",
      "unwritten": "fetch(version 1) returned bad output: reported success but left tensor 'embed.weight' unwritten",
    ]
    for (lie, expected) in expectations.sorted(by: { $0.key < $1.key }) {
      let server = ParameterServer(store: try WeightStore(library: try PluginLibrary.open(path: path), options: PluginOptions([("lie", lie)])))
      try server.publish(version: 0, from: source)
      let target = try DecoderModel(config: source.config, backend: backend)
      let before = try backend.download(target.params.flat(target.params.values))
      XCTAssertThrowsError(try server.load(version: 0, into: target, timeoutSeconds: 5)) { error in
        let text = "\(error)"
        XCTAssertTrue(text.hasPrefix("plugin 'lying-store': "), "\(lie): \(text)")
        XCTAssertTrue(text.contains(expected), "\(lie): \(text)")
      }
      XCTAssertEqual(try backend.download(target.params.flat(target.params.values)), before, "\(lie): the model is untouched")
    }
  }
}
