import Foundation
import RlaxTestSupport
import XCTest

/// Runs a lab can leave alone overnight: kills, signals, a full disk and a read-only directory
/// lose no work, and a run directory belongs to one run. Every run here is the `rlax`
/// executable on a 1-layer model (well under a second of RL).
final class DurableRunTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }

  /// The small run of scripts/kill-loop.sh.
  let tiny = TestSupport.tinyRunFlags

  func run(_ args: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
    try TestSupport.run(rlax, args, environment: environment)
  }

  func train(_ dir: URL, _ extra: [String] = []) throws -> (status: Int32, output: String) {
    try run(tiny + ["--run-dir", dir.path, "--quiet"] + extra)
  }

  func sha(_ dir: URL) throws -> String {
    let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any]
    return summary?["weights_sha256"] as? String ?? "(none)"
  }

  func metricSteps(_ dir: URL) throws -> [Int] {
    try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
      (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["step"] as? Int ?? -1
    }
  }

  func checkpointNames(_ dir: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)) ?? []).sorted()
  }

  /// A straight 6-step run's final weights.
  func straightSHA(_ extra: [String] = []) throws -> String {
    let dir = try TestSupport.temporaryDirectory("straight")
    let r = try train(dir, ["--steps", "6"] + extra)
    XCTAssertEqual(r.status, 0, r.output)
    return try sha(dir)
  }

  /// A fresh tmpfs of `size` (a real file system to fill or make read-only), unmounted after
  /// the test; skipped where mounting is not allowed (not root).
  func tmpfs(size: String, _ label: String) throws -> URL {
    let mount = try TestSupport.temporaryDirectory(label)
    guard TestSupport.run(quiet: "/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "none", mount.path]) else {
      throw XCTSkip("needs root to mount a tmpfs")
    }
    addTeardownBlock { _ = TestSupport.run(quiet: "/bin/umount", [mount.path]) }
    return mount
  }

  // MARK: kills

  /// The short version of scripts/kill-loop.sh (30+ kills there): SIGKILLs at random moments,
  /// mid-save, in the first and in the last step, each followed by --resume.
  func testRandomKillsEachFollowedByResumeEndWithTheUninterruptedWeights() throws {
    let work = try TestSupport.temporaryDirectory("kill-loop")
    let r = try TestSupport.run("/bin/bash", [TestSupport.repoRoot.appendingPathComponent("scripts/kill-loop.sh").path,
                                               "--kills", "8", "--steps", "8", "--rlax", rlax, "--work", work.path])
    XCTAssertEqual(r.status, 0, r.output)
    let verdict = r.output.split(separator: "\n").last { $0.hasPrefix("kill loop passed: ") }.map(String.init) ?? ""
    let counts = verdict.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    XCTAssertGreaterThanOrEqual(counts.first ?? 0, 8, r.output)
    XCTAssertGreaterThanOrEqual(counts.count > 1 ? counts[1] : 0, 1, "at least one kill landed in the middle of a save:\n\(r.output)")
  }

  /// A checkpoint save never removes the previous one first: after a save is cut short (here,
  /// by a full disk), the newest complete checkpoint is the previous one, and it loads.
  func testAFullDiskFailsTheSaveLoudlyAndKeepsThePreviousCheckpoint() throws {
    let expected = try straightSHA()
    let mount = try tmpfs(size: "4m", "full-disk")
    let dir = mount.appendingPathComponent("run")
    XCTAssertEqual(try train(dir, ["--steps", "6", "--stop-after", "3"]).status, 0)
    XCTAssertEqual(checkpointNames(dir), ["step-00000002", "step-00000003"])
    // Fill the disk, leaving less than one checkpoint's room.
    let filler = mount.appendingPathComponent("filler")
    _ = TestSupport.run(quiet: "/bin/dd", ["if=/dev/zero", "of=\(filler.path)", "bs=4096"])
    let full = try train(dir, ["--steps", "6", "--resume"])
    XCTAssertNotEqual(full.status, 0, full.output)
    XCTAssertTrue(full.output.contains("No space left on device"), full.output)
    XCTAssertTrue(full.output.contains(dir.path), "the error names where it failed:\n\(full.output)")
    XCTAssertEqual(checkpointNames(dir), ["step-00000002", "step-00000003"], "no partial checkpoint, the previous ones intact")
    try FileManager.default.removeItem(at: filler)
    let resumed = try train(dir, ["--steps", "6", "--resume"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertEqual(try sha(dir), expected)
    XCTAssertEqual(try metricSteps(dir), Array(0..<6))
  }

  func testAReadOnlyRunDirectoryIsAClearErrorAndResumeWorksOnceWritable() throws {
    let expected = try straightSHA()
    let mount = try tmpfs(size: "16m", "read-only")
    let dir = mount.appendingPathComponent("run")
    XCTAssertEqual(try train(dir, ["--steps", "6", "--stop-after", "2"]).status, 0)
    XCTAssertTrue(TestSupport.run(quiet: "/bin/mount", ["-o", "remount,ro", mount.path]))
    let readOnly = try train(dir, ["--steps", "6", "--resume"])
    XCTAssertNotEqual(readOnly.status, 0)
    XCTAssertTrue(readOnly.output.contains("Read-only file system") && readOnly.output.contains(dir.path), readOnly.output)
    let fresh = try train(mount.appendingPathComponent("new"), ["--steps", "6"])
    XCTAssertNotEqual(fresh.status, 0)
    XCTAssertTrue(fresh.output.contains("cannot create the directory") && fresh.output.contains("Read-only file system"), fresh.output)
    XCTAssertTrue(TestSupport.run(quiet: "/bin/mount", ["-o", "remount,rw", mount.path]))
    XCTAssertEqual(try train(dir, ["--steps", "6", "--resume"]).status, 0)
    XCTAssertEqual(try sha(dir), expected)
  }

  // MARK: signals

  func testSIGTERMStopsAfterTheStepWithACheckpointAndSaysHowToResume() throws {
    let expected = try straightSHA(["--set", "rl.promptsPerStep=16"])
    let dir = try TestSupport.temporaryDirectory("sigterm")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: rlax)
    process.arguments = tiny + ["--run-dir", dir.path, "--quiet", "--steps", "6", "--set", "rl.promptsPerStep=16"]
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = pipe
    try process.run()
    // Signal once the first step's line is written.
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning && ((try? metricSteps(dir)) ?? []).isEmpty && Date() < deadline { usleep(1000) }
    guard process.isRunning else { return XCTFail("the run ended before it could be signalled") }
    kill(process.processIdentifier, SIGTERM)
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 128 + SIGTERM, output)
    let steps = try metricSteps(dir)
    XCTAssertLessThan(steps.count, 6, "stopped early:\n\(output)")
    XCTAssertEqual(steps, Array(0..<steps.count))
    XCTAssertTrue(output.contains("stopped by signal \(SIGTERM) after step \(steps.count)"), output)
    XCTAssertTrue(output.contains("resume with: rlax --resume --run-dir \(dir.path)"), output)
    XCTAssertEqual(checkpointNames(dir).last, String(format: "step-%08d", steps.count))
    // Resume with no flags but the directory: the saved settings are used.
    let resumed = try run(["--resume", "--run-dir", dir.path, "--quiet"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertEqual(try sha(dir), expected)
    XCTAssertEqual(try metricSteps(dir), Array(0..<6))
  }

  /// A second signal exits at once, even while the step is still running (here, blocked in a
  /// reward function that hangs until its 30 s timeout).
  func testASecondSignalExitsAtOnce() throws {
    let library = try TestSupport.compilePlugin(["Tests/Fixtures/rewards/rewards.c"], name: "rewards")
    let reward = #"rl.reward={"timeoutSeconds":30,"foreign":{"library":"\#(library)","symbol":"hang","signature":"(cstring prompt, cstring completion) -> double"}}"#
    let dir = try TestSupport.temporaryDirectory("second-signal")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: rlax)
    process.arguments = tiny + ["--run-dir", dir.path, "--quiet", "--steps", "2", "--set", reward]
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = pipe
    try process.run()
    // RL has started once the starting model's evaluation is saved.
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("eval-before.json").path)
      && Date() < deadline { usleep(1000) }
    usleep(200_000)
    kill(process.processIdentifier, SIGINT)
    usleep(200_000)
    XCTAssertTrue(process.isRunning, "the first signal waits for the step")
    let sent = Date()
    kill(process.processIdentifier, SIGINT)
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertLessThan(Date().timeIntervalSince(sent), 10, "exited at once, not after the 30 s reward timeout")
    XCTAssertEqual(process.terminationStatus, 128 + SIGINT, output)
    XCTAssertTrue(output.contains("SIGINT again: exiting now"), output)
  }

  // MARK: a run directory belongs to one run

  func testANewRunRefusesADirectoryHoldingAnotherAndOverwriteReplacesIt() throws {
    let dir = try TestSupport.temporaryDirectory("occupied")
    XCTAssertEqual(try train(dir, ["--steps", "2"]).status, 0)
    let again = try train(dir, ["--steps", "3"])
    XCTAssertNotEqual(again.status, 0)
    XCTAssertTrue(again.output.contains("holds another run (grpo on cpu-blas, 2 steps"), again.output)
    XCTAssertTrue(again.output.contains("--run-dir") && again.output.contains("--resume") && again.output.contains("--overwrite"), again.output)
    XCTAssertEqual(try metricSteps(dir), [0, 1], "the old run is untouched")
    let mine = dir.appendingPathComponent("notes.txt")
    try "mine".write(to: mine, atomically: true, encoding: .utf8)
    let replaced = try train(dir, ["--steps", "3", "--overwrite"])
    XCTAssertEqual(replaced.status, 0, replaced.output)
    XCTAssertEqual(try metricSteps(dir), [0, 1, 2])
    XCTAssertTrue(FileManager.default.fileExists(atPath: mine.path), "--overwrite removes only what rlax wrote")
    // A directory with other files and no run is refused too.
    let foreign = try TestSupport.temporaryDirectory("foreign")
    try "x".write(to: foreign.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
    let refused = try train(foreign, ["--steps", "2"])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.output.contains("is not empty (data.csv)"), refused.output)
  }

  func testResumeRefusesADifferentConfigNamingTheFields() throws {
    let dir = try TestSupport.temporaryDirectory("differs")
    XCTAssertEqual(try train(dir, ["--steps", "4", "--stop-after", "2"]).status, 0)
    let differs = try train(dir, ["--steps", "4", "--resume", "--seed", "9", "--set", "rl.groupSize=2"])
    XCTAssertNotEqual(differs.status, 0)
    XCTAssertTrue(differs.output.contains("differs from the one saved"), differs.output)
    XCTAssertTrue(differs.output.contains("rl.seed: saved 7, now 9"), differs.output)
    XCTAssertTrue(differs.output.contains("rl.groupSize: saved 4, now 2"), differs.output)
    let backend = try train(dir, ["--steps", "4", "--resume", "--backend", "tpu-sim"])
    XCTAssertTrue(backend.output.contains("plugins.backend: saved cpu-blas"), backend.output)
    // Settings that do not decide the weights may change: more workers, another store.
    let ok = try train(dir, ["--steps", "4", "--resume", "--workers", "3", "--store", "file"])
    XCTAssertEqual(ok.status, 0, ok.output)
    XCTAssertEqual(try metricSteps(dir), [0, 1, 2, 3])
  }

  /// A run.json written by an older rlax, before some config fields existed, still resumes:
  /// the missing fields take today's defaults, and the run ends with the uninterrupted weights.
  func testARecordWithoutNewerConfigFieldsStillResumes() throws {
    let dir = try TestSupport.temporaryDirectory("old-record")
    XCTAssertEqual(try train(dir, ["--steps", "4", "--stop-after", "2"]).status, 0)
    let file = dir.appendingPathComponent("run.json")
    var record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
    var config = try XCTUnwrap(record["config"] as? [String: Any])
    var rl = try XCTUnwrap(config["rl"] as? [String: Any])
    XCTAssertNotNil(rl.removeValue(forKey: "updateEpochs"))
    XCTAssertNotNil(rl.removeValue(forKey: "minibatches"))
    config["rl"] = rl
    record["config"] = config
    try JSONSerialization.data(withJSONObject: record).write(to: file)
    let resumed = try train(dir, ["--steps", "4", "--resume"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    let straight = try TestSupport.temporaryDirectory("old-record-straight")
    XCTAssertEqual(try train(straight, ["--steps", "4"]).status, 0)
    XCTAssertEqual(try sha(dir), try sha(straight))
  }

  func testResumeEdgeCasesAreClearErrors() throws {
    let dir = try TestSupport.temporaryDirectory("edges")
    XCTAssertEqual(try train(dir, ["--steps", "6", "--stop-after", "3"]).status, 0)
    // --steps at or below the saved step.
    let below = try train(dir, ["--steps", "3", "--resume"])
    XCTAssertNotEqual(below.status, 0)
    XCTAssertTrue(below.output.contains("already checkpointed at step 3; pass --steps greater than 3"), below.output)
    // Stray files in the checkpoint directory.
    let newest = dir.appendingPathComponent("checkpoints/step-00000003")
    let stray = newest.appendingPathComponent("version-abc.safetensors")
    try Data().write(to: stray)
    let strayRun = try train(dir, ["--steps", "6", "--resume"])
    XCTAssertNotEqual(strayRun.status, 0)
    XCTAssertTrue(strayRun.output.contains("unexpected entry \(stray.path)"), strayRun.output)
    try FileManager.default.removeItem(at: stray)
    let strayDir = dir.appendingPathComponent("checkpoints/latest-good")
    try FileManager.default.createDirectory(at: strayDir, withIntermediateDirectories: true)
    let strayDirRun = try train(dir, ["--steps", "6", "--resume"])
    XCTAssertTrue(strayDirRun.output.contains("unexpected entry \(strayDir.path): expected step-NNNNNNNN"), strayDirRun.output)
    try FileManager.default.removeItem(at: strayDir)
    // A malformed state.json, then a negative step.
    let state = newest.appendingPathComponent("state.json")
    let good = try Data(contentsOf: state)
    try Data("{\"step\": 3, \"seed\":".utf8).write(to: state)
    let malformed = try train(dir, ["--steps", "6", "--resume"])
    XCTAssertNotEqual(malformed.status, 0)
    XCTAssertTrue(malformed.output.contains(state.path), malformed.output)
    try Data(#"{"step": -3, "seed": 7, "counters": {}}"#.utf8).write(to: state)
    let negative = try train(dir, ["--steps", "6", "--resume"])
    XCTAssertNotEqual(negative.status, 0)
    XCTAssertTrue(negative.output.contains("step is -3 but the directory is step-00000003"), negative.output)
    try good.write(to: state)
    // Nothing to resume.
    let empty = try run(["--resume", "--run-dir", "/nonexistent/rlax-run", "--quiet"])
    XCTAssertNotEqual(empty.status, 0)
    XCTAssertTrue(empty.output.contains("/nonexistent/rlax-run"), empty.output)
    // --stop-after 0 and a negative one.
    for bad in ["0", "-2"] {
      let r = try train(try TestSupport.temporaryDirectory("stop-after"), ["--steps", "6", "--stop-after=\(bad)"])
      XCTAssertNotEqual(r.status, 0)
      XCTAssertTrue(r.output.contains("--stop-after: must be >= 1"), r.output)
    }
    XCTAssertEqual(try train(dir, ["--steps", "6", "--resume"]).status, 0, "the repaired run resumes")
  }

  func testInitWithAModelShapeThatContradictsSetIsAnError() throws {
    let sft = try TestSupport.temporaryDirectory("init-sft").appendingPathComponent("sft")
    let taskAndModel = Array(tiny.prefix(18))
    XCTAssertEqual(taskAndModel.last, "model.layer.feedForward.hiddenDim=64")
    let sftRun = try run(["sft", "--out", sft.path, "--set", "sft.steps=5", "--set", "sft.batchSize=4"] + taskAndModel)
    XCTAssertEqual(sftRun.status, 0, sftRun.output)
    let contradiction = try train(try TestSupport.temporaryDirectory("init"), ["--init", sft.path, "--steps", "2", "--set", "model.modelDim=64"])
    XCTAssertNotEqual(contradiction.status, 0)
    XCTAssertTrue(contradiction.output.contains("model.modelDim: set to 64, the checkpoint has 32"), contradiction.output)
    // Agreeing (or default) model fields are fine, and run.json records the checkpoint's digest.
    let dir = try TestSupport.temporaryDirectory("init-ok")
    let ok = try train(dir, ["--init", sft.path, "--steps", "2"])
    XCTAssertEqual(ok.status, 0, ok.output)
    let record = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("run.json"))) as? [String: Any]
    XCTAssertEqual(((record?["initCheckpoint"] as? [String: Any])?["modelSHA256"] as? String)?.count, 64)
    XCTAssertEqual(((record?["config"] as? [String: Any])?["model"] as? [String: Any])?["modelDim"] as? Int, 32)
    // A run stopped after its first checkpoint resumes (with no flags) after its --init
    // checkpoint was removed: it starts from its own checkpoint.
    let stopped = try TestSupport.temporaryDirectory("init-gone")
    XCTAssertEqual(try train(stopped, ["--init", sft.path, "--steps", "3", "--stop-after", "1"]).status, 0)
    try FileManager.default.removeItem(at: sft)
    let resumed = try run(["--resume", "--run-dir", stopped.path, "--quiet"])
    XCTAssertEqual(resumed.status, 0, resumed.output)
    XCTAssertEqual(try metricSteps(stopped), [0, 1, 2])
  }

  /// A run-time op error says which phase of the run failed.
  func testAnOpErrorNamesThePhaseOfTheRun() throws {
    let backend = try TestSupport.compilePlugin(["Tests/Fixtures/broken/op_error.c"], name: "op-error")
    let r = try train(try TestSupport.temporaryDirectory("op-error"), ["--steps", "2", "--backend", backend])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.output.contains("Error: warm start: op-error: embedding_forward is not supported"), r.output)
  }

  func testQuietSilencesEveryProgressLine() throws {
    let r = try train(try TestSupport.temporaryDirectory("quiet"), ["--steps", "3"])
    XCTAssertEqual(r.status, 0, r.output)
    let lines = r.output.split(separator: "\n")
    XCTAssertEqual(lines.count, 4, "only the closing summary:\n\(r.output)")
    XCTAssertTrue(lines.first?.hasPrefix("grpo on cpu-blas: 3 steps") ?? false, r.output)
  }
}

extension TestSupport {
  /// Runs a command; true when it exited 0.
  static func run(quiet executable: String, _ arguments: [String]) -> Bool {
    (try? run(executable, arguments).status) == 0
  }
}
