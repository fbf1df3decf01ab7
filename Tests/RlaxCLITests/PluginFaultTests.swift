import Foundation
import RlaxTestSupport
import XCTest

/// A plugin that crashes or hangs ends `rlax` promptly with a non-zero status and a line naming
/// the plugin and the operation; a `.so` whose constructor crashes cannot take down
/// `plugins list` or a lookup by name.
final class PluginFaultTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }

  /// A tiny RL run (no warm start, 3 steps of 2 prompts x 2 samples on a 1-layer model).
  let tinyRun = [
    "train", "--quiet", "--set", "task.name=arithmetic", "--set", #"task.options={"minDigits":"1","maxDigits":"2","ops":"+"}"#,
    "--set", "model.modelDim=32", "--set", "model.numLayers=1", "--set", "model.maxSeqLen=24",
    "--set", "model.layer.attention.numHeads=2", "--set", "model.layer.attention.numKVHeads=1",
    "--set", "model.layer.attention.headDim=16", "--set", "model.layer.feedForward.hiddenDim=64",
    "--set", "rl.warmStartSteps=0", "--set", "rl.steps=3", "--set", "rl.promptsPerStep=2", "--set", "rl.groupSize=2",
    "--set", "rl.sampler.maxNewTokens=4", "--set", "eval.problems=2", "--set", "eval.samples=1", "--set", "eval.ks=[1]",
    "--set", "eval.sampler.maxNewTokens=4",
  ]

  /// Runs rlax, killing it after `limit` seconds (so a hang fails the test instead of the suite).
  func run(_ args: [String], environment: [String: String] = [:], limit: Double = 120) throws -> (status: Int32, output: String, seconds: Double, killed: Bool) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: rlax)
    process.arguments = args
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let start = Date()
    try process.run()
    final class Flag: @unchecked Sendable { var killed = false }
    let flag = Flag()
    let timer = DispatchWorkItem {
      if process.isRunning {
        flag.killed = true
        kill(process.processIdentifier, SIGKILL)
      }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: timer)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    timer.cancel()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self), Date().timeIntervalSince(start), flag.killed)
  }

  func runDir(_ label: String) throws -> String { try TestSupport.temporaryDirectory(label).path }

  func testAPluginCrashOnARolloutWorkerThreadEndsTheRunNamingThePluginAndOperation() throws {
    let store = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_store.c"], name: "lying-store")
    let r = try run(tinyRun + ["--run-dir", try runDir("crash-store"), "--store", store, "--store-opt", "lie=crash"], limit: 60)
    XCTAssertFalse(r.killed, "rlax did not exit within 60 s:\n\(r.output)")
    XCTAssertEqual(r.status, 128 + 11, r.output)
    XCTAssertTrue(r.output.contains("rlax: fatal: plugin 'lying-store' crashed with signal 11 (SIGSEGV) during 'fetch' on thread 'rlax-worker-"), r.output)
    XCTAssertTrue(r.output.contains("; exiting with status 139"), r.output)
    XCTAssertLessThan(r.seconds, 30, "a crash exits promptly (no backtracer): \(r.seconds) s")
  }

  func testAPluginCrashOnTheTrainerNamesTheAlgorithmAndComputeLoss() throws {
    let algo = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_algorithm.c"], name: "lying-algorithm")
    let r = try run(tinyRun + ["--run-dir", try runDir("crash-algo"), "--algo", algo, "--algo-opt", "lie=5"], limit: 60)
    XCTAssertFalse(r.killed, r.output)
    XCTAssertEqual(r.status, 128 + 11, r.output)
    XCTAssertTrue(r.output.contains("rlax: fatal: plugin 'lying-algorithm' crashed with signal 11 (SIGSEGV) during 'compute_loss'"), r.output)
  }

  func testTheWatchdogEndsAHungPluginCallAfterTheConfiguredDeadline() throws {
    let store = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_store.c"], name: "lying-store")
    let r = try run(tinyRun + ["--run-dir", try runDir("hang-store"), "--store", store, "--store-opt", "lie=hang"],
                    environment: ["RLAX_PLUGIN_DEADLINE": "2"], limit: 90)
    XCTAssertFalse(r.killed, "the hung run was not ended by the watchdog:\n\(r.output)")
    XCTAssertEqual(r.status, 124, r.output)
    XCTAssertTrue(r.output.contains("rlax: fatal: plugin 'lying-store' operation 'fetch' has not returned after 2 s on thread 'rlax-worker-"), r.output)
    XCTAssertTrue(r.output.contains("(deadline 2 s, RLAX_PLUGIN_DEADLINE); exiting with status 124"), r.output)
    let algo = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_algorithm.c"], name: "lying-algorithm")
    let a = try run(tinyRun + ["--run-dir", try runDir("hang-algo"), "--algo", algo, "--algo-opt", "lie=6"],
                    environment: ["RLAX_PLUGIN_DEADLINE": "1"], limit: 90)
    XCTAssertFalse(a.killed, a.output)
    XCTAssertEqual(a.status, 124, a.output)
    XCTAssertTrue(a.output.contains("plugin 'lying-algorithm' operation 'compute_loss' has not returned after 1 s"), a.output)
  }

  func testALyingAlgorithmFailsTheRunWithItsNameAndTheFirstBadIndex() throws {
    let algo = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_algorithm.c"], name: "lying-algorithm")
    let r = try run(tinyRun + ["--run-dir", try runDir("nan-algo"), "--algo", algo, "--algo-opt", "lie=3"], limit: 60)
    XCTAssertEqual(r.status, 1, r.output)
    XCTAssertTrue(r.output.contains("plugin 'lying-algorithm': compute_loss returned bad output: dloss_dlogprobs[1, 2] (sequence 1, token 2) is nan, not a finite number"), r.output)
  }

  /// A directory on RLAX_PLUGIN_PATH holding grpo.so whose constructor crashes (shadowing the
  /// bundled grpo) and la.so, the lying algorithm, found only by scanning manifests.
  func brokenPluginPath(hang: Bool = false) throws -> String {
    let dir = try TestSupport.temporaryDirectory("broken-path")
    let crashing = try TestSupport.compilePlugin(["Tests/Fixtures/broken/crashing_constructor.c"], name: "grpo",
                                                 extraFlags: hang ? ["-DCRASHING_CONSTRUCTOR_HANG"] : [])
    try FileManager.default.copyItem(atPath: crashing, toPath: dir.appendingPathComponent("grpo.so").path)
    let lying = try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_algorithm.c"], name: "lying-algorithm")
    try FileManager.default.copyItem(atPath: lying, toPath: dir.appendingPathComponent("la.so").path)
    return dir.path
  }

  func testPluginsListReportsACrashingConstructorAsBrokenAndGoesOn() throws {
    let dir = try brokenPluginPath()
    let env = ["RLAX_PLUGIN_PATH": dir]
    let text = try run(["plugins", "list"], environment: env, limit: 60)
    XCTAssertEqual(text.status, 0, text.output)
    XCTAssertTrue(text.output.contains("(unloadable)  \(dir)/grpo.so: loading it crashed the probe process with signal 11"), text.output)
    XCTAssertTrue(text.output.contains("during 'dlopen (library constructors)'"), text.output)
    XCTAssertTrue(text.output.contains("lying-algori algorithm"), text.output)
    XCTAssertTrue(text.output.contains("/plugins/grpo.so"), "the bundled grpo is listed:\n\(text.output)")
    let json = try run(["plugins", "list", "--json"], environment: env, limit: 60)
    XCTAssertEqual(json.status, 0, json.output)
    let entries = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]] ?? []
    let broken = entries.first { $0["path"] as? String == "\(dir)/grpo.so" }
    XCTAssertTrue((broken?["error"] as? String ?? "").contains("SIGSEGV"), "\(entries)")
  }

  func testLookupByNameSkipsACrashingConstructorAndSaysSo() throws {
    let dir = try brokenPluginPath()
    let env = ["RLAX_PLUGIN_PATH": dir]
    let info = try run(["plugins", "info", "grpo"], environment: env, limit: 60)
    XCTAssertEqual(info.status, 0, info.output)
    XCTAssertTrue(info.output.contains("rlax: warning: skipping \(dir)/grpo.so: loading it crashed the probe process"), info.output)
    XCTAssertTrue(info.output.contains("grpo 0.1.0: GRPO"), "the bundled grpo is used:\n\(info.output)")
    let scanned = try run(["plugins", "info", "lying-algorithm"], environment: env, limit: 60)
    XCTAssertEqual(scanned.status, 0, scanned.output)
    XCTAssertTrue(scanned.output.contains("lying-algorithm 0.0.1"), scanned.output)
    let missing = try run(["plugins", "info", "nosuch"], environment: env, limit: 60)
    XCTAssertEqual(missing.status, 1, missing.output)
    XCTAssertTrue(missing.output.contains("plugin 'nosuch' not found") && missing.output.contains("skipped 1 broken: \(dir)/grpo.so"), missing.output)
    let train = try run(tinyRun + ["--run-dir", try runDir("lookup-train"), "--algo", "grpo"], environment: env, limit: 120)
    XCTAssertEqual(train.status, 0, train.output)
    XCTAssertTrue(train.output.contains("grpo on cpu-blas: 3 steps"), train.output)
  }

  func testAHangingConstructorIsReportedAfterTheDeadline() throws {
    let dir = try brokenPluginPath(hang: true)
    let r = try run(["plugins", "list"], environment: ["RLAX_PLUGIN_PATH": dir, "RLAX_PLUGIN_DEADLINE": "1"], limit: 60)
    XCTAssertFalse(r.killed, r.output)
    XCTAssertEqual(r.status, 0, r.output)
    XCTAssertTrue(r.output.contains("\(dir)/grpo.so: loading it hung (the probe process's watchdog ended it): plugin '\(dir)/grpo.so' operation 'dlopen (library constructors)' has not returned after 1 s"), r.output)
  }
}
