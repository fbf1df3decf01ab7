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
  /// Builds `Plugins/algorithms/BASE/FILE` with `edits` applied, as plugin `name`, in its own
  /// directory outside the tree beside a link to the shared headers; returns the .so path.
  func buildOutsideTheTree(base: String, file: String, name: String, edits: [(String, String)] = []) throws -> (path: String, root: URL) {
    let root = try TestSupport.temporaryDirectory(name)
    let dir = root.appendingPathComponent("algorithms/\(name)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("algorithms/shared"),
                                               withDestinationURL: TestSupport.repoRoot.appendingPathComponent("Plugins/algorithms/shared"))
    var source = try String(contentsOf: TestSupport.repoRoot.appendingPathComponent("Plugins/algorithms/\(base)/\(file)"), encoding: .utf8)
    for (from, to) in [("#define ALG_NAME \"\(base)\"", "#define ALG_NAME \"\(name)\"")] + edits {
      XCTAssertTrue(source.contains(from), "\(file) no longer contains '\(from)': update this test")
      source = source.replacingOccurrences(of: from, with: to)
    }
    try source.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
    let plugin = root.appendingPathComponent("\(name).so").path
    let cc = try TestSupport.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-fvisibility=hidden", "-I\(TestSupport.repoRoot.path)/include",
                                                  "-o", plugin, dir.appendingPathComponent(file).path, "-lm"])
    XCTAssertEqual(cc.status, 0, cc.output)
    return (plugin, root)
  }

  func testTheSuiteCatchesAWrongGradient() throws {
    // mdloo with the derivative of its KL term written as 1 - rho instead of 1 - 1/rho.
    let (plugin, _) = try buildOutsideTheTree(base: "mdloo", file: "mdloo.c", name: "bad-mdloo",
                                              edits: [("eta * (1.0 - 1.0 / rho)", "eta * (1.0 - rho)")])
    let report = ConformanceSuite.verify(path: plugin)
    XCTAssertTrue(report.failures.contains { $0.name.contains("finite differences") }, "\(report.results)")
  }

  func testAnAlgorithmBuiltOutsideTheTreeVerifiesAndTrains() throws {
    let (plugin, root) = try buildOutsideTheTree(base: "rloo", file: "rloo.c", name: "my-rloo")

    let report = ConformanceSuite.verify(path: plugin)
    XCTAssertTrue(report.passed, "\(report.failures)")
    XCTAssertEqual(report.manifest?.name, "my-rloo")

    _ = try TestSupport.bundled("cpu-blas")
    let config = try RunConfigLoader.load(edits: [
      "task.name=arithmetic", #"task.options={"minDigits":"1","maxDigits":"2","ops":"+"}"#,
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
