import Foundation
import RlaxPlugins
import RlaxTestSupport
import RlaxTransport
import XCTest

/// The parameter server as its own process (`rlax serve ps`): a run whose trainer and workers
/// push and pull every version over gRPC ends with the same weights as the in-process run.
final class ParameterServerProcessTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }
  let tiny = TestSupport.tinyRunFlags

  /// Starts `rlax serve ps`; returns the process, its port and its token file.
  func serve(_ extra: [String] = [], dir given: URL? = nil) throws -> (Process, Int, String, Pipe) {
    let dir = try given ?? TestSupport.temporaryDirectory("ps")
    let tokenFile = dir.appendingPathComponent("token").path, portFile = dir.appendingPathComponent("port").path
    try? FileManager.default.removeItem(atPath: portFile)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: rlax)
    process.arguments = ["serve", "ps", "--token-file", tokenFile, "--port-file", portFile, "--store-opt", "keep=4"] + extra
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = pipe
    try process.run()
    addTeardownBlock { process.terminate(); process.waitUntilExit() }
    let deadline = Date().addingTimeInterval(30)
    while !FileManager.default.fileExists(atPath: portFile) && process.isRunning && Date() < deadline { usleep(10_000) }
    guard let port = Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
      throw SupportError("rlax serve ps did not write its port")
    }
    return (process, port, tokenFile, pipe)
  }

  func sha(_ output: String) -> String? {
    output.split(separator: "\n").first { $0.hasPrefix("weights sha256 ") }.map { String($0.dropFirst("weights sha256 ".count)) }
  }

  func testARunAgainstTheParameterServerProcessEndsWithTheInProcessWeights() throws {
    let local = try TestSupport.run(rlax, tiny + ["--steps", "4", "--max-staleness", "1", "--quiet",
                                                  "--run-dir", try TestSupport.temporaryDirectory("local").path])
    XCTAssertEqual(local.status, 0, local.output)
    let (server, port, tokenFile, _) = try serve()
    let token = try String(contentsOfFile: tokenFile, encoding: .utf8)
    XCTAssertEqual(token.trimmingCharacters(in: .whitespacesAndNewlines).count, 64)
    let attributes = try FileManager.default.attributesOfItem(atPath: tokenFile)
    XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "the token file is the owner's alone")
    let remote = try TestSupport.run(rlax, tiny + ["--steps", "4", "--max-staleness", "1", "--quiet",
                                                   "--run-dir", try TestSupport.temporaryDirectory("remote").path,
                                                   "--parameter-server", "127.0.0.1:\(port)", "--token-file", tokenFile])
    XCTAssertEqual(remote.status, 0, remote.output)
    XCTAssertTrue(remote.output.contains("grpo on cpu-blas: 4 steps"), remote.output)
    XCTAssertNotNil(sha(remote.output))
    XCTAssertEqual(sha(remote.output), sha(local.output), "every version went through the parameter server process, same weights")
    // A second run must not take the first run's versions for its own.
    let second = try TestSupport.run(rlax, tiny + ["--steps", "4", "--quiet", "--run-dir", try TestSupport.temporaryDirectory("second").path,
                                                   "--parameter-server", "127.0.0.1:\(port)", "--token-file", tokenFile])
    XCTAssertNotEqual(second.status, 0)
    XCTAssertTrue(second.output.contains("already holds versions (the newest is 4)"), second.output)
    XCTAssertTrue(server.isRunning)
  }

  func testAWrongTokenOrAnOpenTokenFileIsRefused() throws {
    let (_, port, _, _) = try serve()
    let dir = try TestSupport.temporaryDirectory("wrong-token")
    let wrong = dir.appendingPathComponent("token").path
    _ = FileManager.default.createFile(atPath: wrong, contents: Data("not-the-token\n".utf8), attributes: [.posixPermissions: 0o600])
    let r = try TestSupport.run(rlax, tiny + ["--steps", "2", "--quiet", "--run-dir", dir.appendingPathComponent("run").path,
                                              "--parameter-server", "127.0.0.1:\(port)", "--token-file", wrong])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.output.contains("parameter server 127.0.0.1:\(port)") && r.output.contains("unauthenticated"), r.output)
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: wrong)
    let open = try TestSupport.run(rlax, tiny + ["--steps", "2", "--quiet", "--run-dir", dir.appendingPathComponent("run2").path,
                                                 "--parameter-server", "127.0.0.1:\(port)", "--token-file", wrong])
    XCTAssertNotEqual(open.status, 0)
    XCTAssertTrue(open.output.contains("others can read it (mode 644): chmod 600"), open.output)
  }

  /// SIGKILL the parameter server mid-run and start it again on the same port and directory
  /// (`--store file` keeps its versions): the trainer and workers retry until it is back, and
  /// the run ends with the weights of an uninterrupted one.
  func testARunSurvivesTheParameterServerBeingKilledAndRestarted() throws {
    let flags = tiny + ["--steps", "12", "--set", "rl.promptsPerStep=16", "--quiet"]
    let local = try TestSupport.run(rlax, flags + ["--run-dir", try TestSupport.temporaryDirectory("ps-local").path])
    XCTAssertEqual(local.status, 0, local.output)
    let psDir = try TestSupport.temporaryDirectory("ps-restart")
    let storeFlags = ["--store", "file", "--store-opt", "dir=\(psDir.appendingPathComponent("versions").path)"]
    let (first, port, tokenFile, _) = try serve(storeFlags, dir: psDir)
    let runDir = try TestSupport.temporaryDirectory("ps-run")
    let run = Process()
    run.executableURL = URL(fileURLWithPath: rlax)
    run.arguments = flags + ["--run-dir", runDir.path, "--parameter-server", "127.0.0.1:\(port)", "--token-file", tokenFile]
    let pipe = Pipe()
    run.standardOutput = pipe
    run.standardError = pipe
    try run.run()
    let metrics = runDir.appendingPathComponent("metrics.jsonl")
    let deadline = Date().addingTimeInterval(60)
    while run.isRunning && ((try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 2 && Date() < deadline {
      usleep(2000)
    }
    XCTAssertTrue(run.isRunning, "the run was still going when the parameter server was killed")
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    usleep(300_000)
    _ = try serve(storeFlags + ["--listen", "127.0.0.1:\(port)"], dir: psDir)
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    run.waitUntilExit()
    XCTAssertEqual(run.terminationStatus, 0, output)
    XCTAssertEqual(sha(output), sha(local.output), output)
  }

  /// SIGKILL of the parameter server in the middle of a push (a 100 MB version, which takes
  /// most of a second to stream): nothing partial is published, and the client's retry, once
  /// the server is back on the same port with its file store, publishes the whole version.
  func testKillingTheParameterServerMidPushPublishesNothingPartialAndTheRetrySucceeds() throws {
    let psDir = try TestSupport.temporaryDirectory("ps-mid-push")
    let storeFlags = ["--store", "file", "--store-opt", "dir=\(psDir.appendingPathComponent("versions").path)"]
    let (first, port, tokenFile, _) = try serve(storeFlags, dir: psDir)
    let token = try AccessToken.load(tokenFile, create: false)
    var values = [Float](repeating: 1.5, count: 25 << 20)
    for i in stride(from: 0, to: values.count, by: 4099) { values[i] = Float(i % 9973) * 0.5 }
    let tensors = [HostTensor(name: "w", shape: [25, 1 << 20], floats: values)]
    let client = try RemoteWeightStore(host: "127.0.0.1", port: port, token: token)
    final class Outcome: @unchecked Sendable { var error: Error?; var seconds = 0.0 }
    let outcome = Outcome(), done = DispatchSemaphore(value: 0)
    Thread {
      let start = Date()
      do { try client.publish(version: 1, tensors: tensors) } catch { outcome.error = error }
      outcome.seconds = Date().timeIntervalSince(start)
      done.signal()
    }.start()
    usleep(150_000)
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    XCTAssertEqual(done.wait(timeout: .now()), .timedOut, "the push was still under way when the server died")
    // Nothing of the cut push is in the store the restarted server reads.
    let (_, _, _, _) = try serve(storeFlags + ["--listen", "127.0.0.1:\(port)"], dir: psDir)
    XCTAssertEqual(done.wait(timeout: .now() + 120), .success)
    XCTAssertNil(outcome.error, "\(outcome.error.map { "\($0)" } ?? "")")
    XCTAssertEqual(try client.latest(), 1)
    let back = try RemoteWeightStore(host: "127.0.0.1", port: port, token: token).fetch(version: 1, names: nil)
    XCTAssertEqual(back, tensors, "the whole version, byte for byte")
  }

  func testBenchTransportPrintsPushAndPullFigures() throws {
    let r = try TestSupport.run(rlax, ["bench", "transport", "--sets", "300000:3", "--rounds", "1", "--json"])
    XCTAssertEqual(r.status, 0, r.output)
    let row = ((try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])?["rows"] as? [[String: Any]])?.first
    XCTAssertEqual(row?["parameters"] as? Int, 300000)
    for key in ["pushMBps", "pullMBps", "inProcessPublishMBps", "inProcessFetchMBps"] {
      XCTAssertGreaterThan(row?[key] as? Double ?? 0, 0, key)
    }
  }

  /// Without --listen the server binds loopback only: the kernel's socket table shows the
  /// listening port on 127.0.0.1 and nowhere else.
  func testTheServerListensOnLoopbackByDefault() throws {
    guard FileManager.default.fileExists(atPath: "/proc/net/tcp") else { throw XCTSkip("needs /proc/net/tcp") }
    let (_, port, _, _) = try serve()
    let hexPort = String(format: "%04X", port)
    let listening = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8).split(separator: "\n").dropFirst().compactMap { line -> String? in
      let fields = line.split(separator: " ")
      guard fields.count > 3, fields[1].hasSuffix(":" + hexPort), fields[3] == "0A" else { return nil }
      return String(fields[1].prefix(8))
    }
    XCTAssertEqual(listening, ["0100007F"], "listening addresses (hex, little-endian) for port \(port)")
  }
}
