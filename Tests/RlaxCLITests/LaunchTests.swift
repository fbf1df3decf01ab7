import Foundation
@testable import RlaxRuntime
import RlaxModel
import RlaxPlugins
import RlaxTestSupport
import RlaxTraining
import RlaxTransport
import XCTest

/// RLAX's roles as processes: `rlax launch` reproduces the in-process weights with any number
/// of worker processes, survives SIGKILL of any role (scripts/chaos.sh), and a worker that
/// stops answering loses its lease, its late result dropped.
final class LaunchTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }
  let tiny = TestSupport.tinyRunFlags + ["--max-staleness", "1", "--quiet"]

  func sha(_ output: String) -> String? {
    output.split(separator: "\n").compactMap { line -> String? in
      guard let r = line.range(of: "weights sha256 ") else { return nil }
      return String(line[r.upperBound...])
    }.first
  }

  func testLaunchWithOneOrFourWorkersEndsWithTheInProcessWeights() throws {
    let local = try TestSupport.run(rlax, tiny + ["--steps", "5", "--run-dir", try TestSupport.temporaryDirectory("launch-local").path])
    XCTAssertEqual(local.status, 0, local.output)
    for workers in [1, 4] {
      let dir = try TestSupport.temporaryDirectory("launch-\(workers)")
      let r = try TestSupport.run(rlax, ["launch"] + tiny + ["--steps", "5", "--workers", "\(workers)", "--run-dir", dir.path])
      XCTAssertEqual(r.status, 0, r.output)
      XCTAssertNotNil(sha(r.output), r.output)
      XCTAssertEqual(sha(r.output), sha(local.output), "\(workers) worker processes")
      // Every role's lines carry its name; the summary is the same file as in process.
      for role in ["[ps]", "[controller]", "[trainer]", "[worker-0]", "[launch]"] { XCTAssertTrue(r.output.contains(role), role) }
      let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: dir.appendingPathComponent("summary.json")))
      XCTAssertEqual(summary.accounting.consumed, 5 * 4)
      XCTAssertEqual(summary.controller?.accepted, 5 * 4)
      XCTAssertEqual(summary.controller?.regenerated, 0)
      XCTAssertTrue(summary.store.hasPrefix("parameter server 127.0.0.1:"), summary.store)
      let token = dir.appendingPathComponent("launch/token").path
      XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: token)[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }
  }

  func testLaunchRefusesARunDirectoryHoldingAnotherRun() throws {
    let dir = try TestSupport.temporaryDirectory("launch-occupied")
    XCTAssertEqual(try TestSupport.run(rlax, tiny + ["--steps", "1", "--run-dir", dir.path]).status, 0)
    let r = try TestSupport.run(rlax, ["launch"] + tiny + ["--steps", "2", "--run-dir", dir.path])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.output.contains("--overwrite") && !r.output.contains("[trainer]"), "refused before any role started: \(r.output)")
  }

  /// The short chaos run: SIGKILLs of every role (two rounds over six roles) during RL; the
  /// run ends with the uninterrupted weights and every group consumed exactly once.
  func testChaosKillingEveryRoleEndsWithTheUninterruptedWeights() throws {
    let dir = try TestSupport.temporaryDirectory("chaos").appendingPathComponent("run")
    let r = try TestSupport.run("/usr/bin/env", ["bash", TestSupport.repoRoot.appendingPathComponent("scripts/chaos.sh").path, dir.path, "12", "0.3", "0.7"]
                                  + tiny + ["--steps", "60", "--workers", "3"],
                                environment: ProcessInfo.processInfo.environment.merging(["RLAX": rlax, "LAUNCH_ARGS": "--lease-seconds 2"]) { $1 })
    let line = r.output.split(separator: "\n").last.map(String.init) ?? ""
    let result = try XCTUnwrap(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], r.output)
    XCTAssertEqual(r.status, 0, r.output + ((try? String(contentsOf: URL(fileURLWithPath: dir.path + ".log"), encoding: .utf8)) ?? ""))
    XCTAssertEqual(result["ok"] as? Bool, true)
    XCTAssertEqual(result["same_weights"] as? Bool, true)
    XCTAssertEqual(result["consumed_exactly_once"] as? Bool, true)
    XCTAssertGreaterThanOrEqual(result["kills"] as? Int ?? 0, 10)
    let perRole = result["kills_per_role"] as? [String: Int] ?? [:]
    XCTAssertEqual(Set(perRole.keys), ["ps", "controller", "trainer", "worker-0", "worker-1", "worker-2"])
    XCTAssertTrue(perRole.values.allSatisfy { $0 >= 1 }, "\(perRole)")
    let controller = result["controller"] as? [String: Int] ?? [:]
    XCTAssertGreaterThanOrEqual(controller["restarts"] ?? 0, 1, "the controller resumed from its journal")
  }

  /// The trainer killed well after its checkpoint, with k = 1: the parameter server, which
  /// outlived it, has moved past the version the resumed step's old-policy pass needs; the
  /// trainer takes it from its checkpoint and ends with the uninterrupted weights.
  func testATrainerKilledLongAfterItsCheckpointResumesWithTheVersionsItSaved() throws {
    var flags = TestSupport.tinyRunFlags
    if let i = flags.firstIndex(of: "--checkpoint-every") { flags.removeSubrange(i...(i + 1)) }
    flags += ["--max-staleness", "1", "--checkpoint-every", "8", "--steps", "16", "--quiet"]
    let local = try TestSupport.run(rlax, flags + ["--run-dir", try TestSupport.temporaryDirectory("late-kill-local").path])
    XCTAssertEqual(local.status, 0, local.output)
    let dir = try TestSupport.temporaryDirectory("late-kill")
    let launch = Process()
    launch.executableURL = URL(fileURLWithPath: rlax)
    launch.arguments = ["launch", "--run-dir", dir.path] + flags
    let pipe = Pipe()
    launch.standardOutput = pipe
    launch.standardError = pipe
    try launch.run()
    let metrics = dir.appendingPathComponent("metrics.jsonl"), pid = dir.appendingPathComponent("launch/pids/trainer.pid")
    let deadline = Date().addingTimeInterval(60)
    // Step 13 is 5 versions past checkpoint 8: the server (keep 3) holds 11..13, not 7.
    while launch.isRunning && ((try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 13 && Date() < deadline {
      usleep(2000)
    }
    let trainer = try XCTUnwrap(Int32((try? String(contentsOf: pid, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
    XCTAssertEqual(kill(trainer, SIGKILL), 0)
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    launch.waitUntilExit()
    XCTAssertEqual(launch.terminationStatus, 0, output)
    XCTAssertTrue(output.contains("trainer was killed by signal 9"), output)
    XCTAssertEqual(sha(output), sha(local.output), output)
  }

  /// Starts `rlax serve ROLE` and returns it with its port.
  func serve(_ role: String, _ arguments: [String], dir: URL) throws -> (Process, Int) {
    let portFile = dir.appendingPathComponent("\(role).port").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: rlax)
    process.arguments = ["serve", role, "--port-file", portFile] + arguments
    process.standardError = FileHandle.nullDevice
    try process.run()
    addTeardownBlock { process.terminate(); process.waitUntilExit() }
    let deadline = Date().addingTimeInterval(30)
    while !FileManager.default.fileExists(atPath: portFile) && process.isRunning && Date() < deadline { usleep(10_000) }
    let port = try XCTUnwrap(Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
    return (process, port)
  }

  /// A worker that stops answering (SIGSTOP) while it holds a lease: the lease expires, the
  /// item goes to another worker, and when the stopped one comes back its result is dropped.
  /// The test plays the trainer and the other worker; the stopped worker holds its lease
  /// while it waits for a weight version the test has not published yet.
  func testAStoppedWorkerLosesItsLeaseAndItsLateResultIsDropped() throws {
    let dir = try TestSupport.temporaryDirectory("sigstop")
    let tokenFile = dir.appendingPathComponent("token").path
    let (_, psPort) = try serve("ps", ["--token-file", tokenFile, "--store-opt", "keep=4"], dir: dir)
    let (_, controllerPort) = try serve("controller", ["--token-file", tokenFile, "--state-dir", dir.appendingPathComponent("state").path,
                                                       "--lease-seconds", "1"], dir: dir)
    let token = try AccessToken.load(tokenFile, create: false)
    let config = try RunConfigLoader.load(file: nil, edits: TestSupport.tinyConfigEdits, replacements: [])
    let spec = RunSpec(config: config, backend: "cpu-blas", backendOptions: [])
    let plan = Controller(config: spec.config.rl, task: try spec.config.task.make())
    let trainer = try RemoteController(host: "127.0.0.1", port: controllerPort, token: token, plan: plan)
    XCTAssertFalse(try trainer.begin(spec))
    try trainer.issue(step: 0, indices: 0..<1)

    let worker = Process()
    worker.executableURL = URL(fileURLWithPath: rlax)
    worker.arguments = ["serve", "worker", "--name", "worker-0", "--controller", "127.0.0.1:\(controllerPort)",
                        "--parameter-server", "127.0.0.1:\(psPort)", "--token-file", tokenFile]
    worker.standardError = FileHandle.nullDevice
    try worker.run()
    addTeardownBlock { kill(worker.processIdentifier, SIGCONT); worker.terminate(); worker.waitUntilExit() }
    let deadline = Date().addingTimeInterval(30)
    while try trainer.counters().leases < 1 && Date() < deadline { usleep(20_000) }
    XCTAssertEqual(try trainer.counters().leases, 1, "worker-0 leased the item and waits for version 0")
    kill(worker.processIdentifier, SIGSTOP)
    usleep(1_500_000)

    // Another worker gets the item once the stopped one's lease has expired, and reports it.
    let other = try RemoteController(host: "127.0.0.1", port: controllerPort, token: token, plan: nil)
    let (id, _) = try other.register(name: "worker-1")
    guard case .item(let lease, 0, 0) = try other.lease(worker: id, waitSeconds: 5) else { return XCTFail("the expired item was leased again") }
    let item = try plan.workItem(step: 0, index: 0)
    let g = plan.config.groupSize
    let mine = GroupRollout(item: item, version: 0, completions: Array(repeating: [5, 6], count: g), samplerLogprobs: Array(repeating: [-1, -2], count: g),
                            texts: [], rewards: Array(repeating: 0, count: g), worker: "worker-1", started: Date(), seconds: 0)
    XCTAssertEqual(try other.report(lease: lease, rollout: mine), .accepted)

    // Version 0 appears; the stopped worker resumes, generates, and reports under its dead lease.
    let model = try DecoderModel(config: spec.config.model, backend: try Backend(library: TestSupport.bundled("cpu-blas")))
    try model.initialize(seed: 1)
    try ParameterServer(store: try RemoteWeightStore(host: "127.0.0.1", port: psPort, token: token)).publish(version: 0, from: model)
    kill(worker.processIdentifier, SIGCONT)
    while try trainer.counters().lateResults < 1 && Date() < deadline.addingTimeInterval(30) { usleep(20_000) }
    let counters = try trainer.counters()
    XCTAssertEqual(counters.expiredLeases, 1)
    XCTAssertEqual(counters.lateResults, 1, "the stopped worker's result came back late")
    XCTAssertEqual(counters.accepted, 1)
    XCTAssertEqual(try trainer.collect(step: 0, indices: 0..<1).map { $0.worker }, ["worker-1"], "the late result was dropped")
    _ = try trainer.finish()
    worker.waitUntilExit()
    XCTAssertEqual(worker.terminationStatus, 0, "the worker exits when the run is over")
  }

  /// Without --listen the controller binds loopback only, as the parameter server does.
  func testTheControllerListensOnLoopbackByDefault() throws {
    guard FileManager.default.fileExists(atPath: "/proc/net/tcp") else { throw XCTSkip("needs /proc/net/tcp") }
    let dir = try TestSupport.temporaryDirectory("controller-loopback")
    let (_, port) = try serve("controller", ["--token-file", dir.appendingPathComponent("token").path, "--state-dir", dir.path], dir: dir)
    let hexPort = String(format: "%04X", port)
    let listening = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8).split(separator: "\n").dropFirst().compactMap { line -> String? in
      let fields = line.split(separator: " ")
      guard fields.count > 3, fields[1].hasSuffix(":" + hexPort), fields[3] == "0A" else { return nil }
      return String(fields[1].prefix(8))
    }
    XCTAssertEqual(listening, ["0100007F"])
  }
}
