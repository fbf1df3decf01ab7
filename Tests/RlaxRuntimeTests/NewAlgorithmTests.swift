import Foundation
import RlaxConformance
import RlaxRuntime
import RlaxTestSupport
import RlaxTraining
import XCTest

/// Adding an algorithm is a new directory and zero host changes: an algorithm written outside
/// the repository (here rloo's source under a new name, in its own directory beside the shared
/// headers) builds with plain cc, passes the conformance suite and trains, chosen by path.
final class NewAlgorithmTests: XCTestCase {
  func testAnAlgorithmBuiltOutsideTheTreeVerifiesAndTrains() throws {
    let root = try TestSupport.temporaryDirectory("new-algorithm")
    let dir = root.appendingPathComponent("algorithms/my-rloo")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("algorithms/shared"),
                                               withDestinationURL: TestSupport.repoRoot.appendingPathComponent("Plugins/algorithms/shared"))
    let source = try String(contentsOf: TestSupport.repoRoot.appendingPathComponent("Plugins/algorithms/rloo/rloo.c"), encoding: .utf8)
    let renamed = source.replacingOccurrences(of: "#define ALG_NAME \"rloo\"", with: "#define ALG_NAME \"my-rloo\"")
    XCTAssertNotEqual(renamed, source, "rloo.c no longer defines ALG_NAME \"rloo\": update this test")
    try renamed.write(to: dir.appendingPathComponent("my_rloo.c"), atomically: true, encoding: .utf8)
    let plugin = root.appendingPathComponent("my-rloo.so").path
    let cc = try TestSupport.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-fvisibility=hidden", "-I\(TestSupport.repoRoot.path)/include",
                                                  "-o", plugin, dir.appendingPathComponent("my_rloo.c").path, "-lm"])
    XCTAssertEqual(cc.status, 0, cc.output)

    let report = ConformanceSuite.verify(path: plugin)
    XCTAssertTrue(report.passed, "\(report.failures)")
    XCTAssertEqual(report.manifest?.name, "my-rloo")

    _ = try TestSupport.bundled("cpu-blas")
    let config = try RunConfigLoader.load(edits: [
      "model.modelDim=32", "model.numLayers=1", "model.maxSeqLen=24", "model.layer.attention.numHeads=2",
      "model.layer.attention.numKVHeads=1", "model.layer.attention.headDim=16", "model.layer.feedForward.hiddenDim=64",
      "rl.warmStartSteps=5", "rl.steps=2", "rl.promptsPerStep=2", "rl.groupSize=4", "rl.sampler.maxNewTokens=4",
      "eval.problems=2", "eval.samples=2", "eval.ks=[1,2]", "eval.sampler.maxNewTokens=4", "rl.algorithm=\(plugin)",
    ])
    var options = RLRun.Options(runDir: root.appendingPathComponent("run"))
    options.quiet = true
    let summary = try RLRun(config: config, options: options).run()
    XCTAssertEqual(summary.algorithm, "my-rloo")
    XCTAssertEqual(summary.steps, 2)
  }
}
