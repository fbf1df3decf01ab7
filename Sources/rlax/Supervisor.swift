import Dispatch
import Foundation
import RlaxSafeTensors

/// `rlax launch`'s process supervision: starts each role as a child process, prefixes every
/// line it prints with its name, restarts it when it dies (at once after a signal, with
/// backoff after an error exit, giving up after `restartLimit` error exits in a row), and
/// records each start's pid in LAUNCH_DIR/pids/ROLE.pid (for `scripts/chaos.sh`) and the
/// restarts in LAUNCH_DIR/supervision.json.
final class Supervisor: @unchecked Sendable {
  enum Outcome {
    case trainerDone
    case stopped(signal: Int32)
    case gaveUp(String)
  }

  struct RoleRecord: Codable {
    var starts = 0
    var killedBySignal = 0
    var errorExits = 0
    var downSeconds = 0.0
  }

  let launchDir: URL
  let restartLimit: Int
  let executable: URL
  private let condition = NSCondition()
  private var outcome: Outcome?
  private var stopSignal: Int32?
  private var running: [String: Process] = [:]
  private var records: [String: RoleRecord] = [:]
  private var threads = 0
  private let outputLock = NSLock()

  init(launchDir: URL, restartLimit: Int) {
    self.launchDir = launchDir
    self.restartLimit = restartLimit
    executable = SelfExecutable.url
  }

  func log(_ line: String) { emit("[launch] " + line, to: FileHandle.standardError) }

  /// Starts a role that listens (port 0 the first time) and returns its port; restarts listen
  /// on the same port, so clients find it again.
  func startListening(_ role: String, _ arguments: [String]) throws -> Int {
    let portFile = launchDir.appendingPathComponent("\(role).port")
    try? FileManager.default.removeItem(at: portFile)
    final class Port: @unchecked Sendable { var value: Int? }
    let port = Port()
    start(role, arguments + ["--port-file", portFile.path],
          restart: arguments + ["--listen", "127.0.0.1:\(port.value ?? 0)", "--port-file", portFile.path])
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline {
      if let text = try? String(contentsOf: portFile, encoding: .utf8), let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
        port.value = p
        return p
      }
      if case .gaveUp(let reason)? = condition.withLock({ outcome }) { throw SupervisorError(reason) }
      usleep(20_000)
    }
    throw SupervisorError("\(role) did not report a port within 120 s")
  }

  /// Starts `role` and keeps it running on a thread of its own. `restart` is evaluated at
  /// each restart (a listening role's port is known by then).
  func start(_ role: String, _ arguments: [String], restart: @autoclosure @escaping () -> [String]? = nil, isTrainer: Bool = false) {
    condition.withLock {
      threads += 1
      records[role] = RoleRecord()
    }
    let thread = Thread { [self] in
      supervise(role, arguments, restart: restart, isTrainer: isTrainer)
      condition.withLock {
        threads -= 1
        condition.broadcast()
      }
    }
    thread.name = "supervise-\(role)"
    thread.start()
  }

  private func supervise(_ role: String, _ arguments: [String], restart: () -> [String]?, isTrainer: Bool) {
    var errorsInARow = 0, backoff = 0.2
    var downSince: Date?
    for attempt in 0... {
      let process = Process()
      process.executableURL = executable
      process.arguments = attempt == 0 ? arguments : restart() ?? arguments
      var environment = ProcessInfo.processInfo.environment
      environment["RLAX_EXIT_WITH_PARENT"] = "1"
      process.environment = environment
      let out = Pipe(), err = Pipe()
      process.standardOutput = out
      process.standardError = err
      forward(out, role: role, to: .standardOutput)
      forward(err, role: role, to: .standardError)
      let started: Bool = condition.withLock {
        guard outcome == nil, stopSignal == nil else { return false }
        do { try process.run() } catch {
          finish(.gaveUp("cannot start \(role) (\(executable.path)): \(error)"))
          return false
        }
        running[role] = process
        records[role]!.starts += 1
        if let downSince { records[role]!.downSeconds += Date().timeIntervalSince(downSince) }
        return true
      }
      guard started else { return }
      let pids = launchDir.appendingPathComponent("pids")
      try? DurableStorage.createDirectory(pids)
      try? DurableStorage.write(Data("\(process.processIdentifier)\n".utf8), to: pids.appendingPathComponent("\(role).pid"))
      let since = Date()
      process.waitUntilExit()
      downSince = Date()
      // The pipes' last lines before the next start's.
      out.fileHandleForReading.readabilityHandler = nil
      err.fileHandleForReading.readabilityHandler = nil
      let signalled = process.terminationReason == .uncaughtSignal, status = process.terminationStatus
      let stop: Bool = condition.withLock {
        running[role] = nil
        if let stopSignal {
          if isTrainer { finish(.stopped(signal: stopSignal)) }
          return true
        }
        if outcome != nil { return true }
        if isTrainer && !signalled && status == 0 {
          finish(.trainerDone)
          return true
        }
        // A worker exits 0 when the controller says the run is over.
        if !isTrainer && !signalled && status == 0 { return true }
        if signalled { records[role]!.killedBySignal += 1 } else { records[role]!.errorExits += 1 }
        return false
      }
      if stop { return }
      if signalled {
        errorsInARow = 0
        log("\(role) was killed by signal \(status); restarting it")
      } else {
        errorsInARow += 1
        if errorsInARow >= restartLimit {
          condition.withLock { finish(.gaveUp("\(role) exited with status \(status) \(errorsInARow) times in a row")) }
          return
        }
        log("\(role) exited with status \(status); restarting it in \(String(format: "%.1f", backoff)) s")
      }
      // Back off only for errors; a role that ran a while starts over from a short pause.
      if Date().timeIntervalSince(since) > 30 { backoff = 0.2 }
      if !signalled {
        usleep(UInt32(backoff * 1e6))
        backoff = min(backoff * 2, 5)
      }
    }
  }

  /// Sets the outcome (the first one wins) and stops every role. Call with the lock held.
  private func finish(_ result: Outcome) {
    guard outcome == nil else { return }
    outcome = result
    condition.broadcast()
    let processes = Array(running.values)
    DispatchQueue.global().async {
      for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
      Thread.sleep(forTimeInterval: 5)
      for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }
  }

  /// Blocks until the trainer is done, launch is stopped, or it gave up; then until every
  /// role has exited.
  func wait() -> Outcome {
    condition.lock()
    defer { condition.unlock() }
    while outcome == nil { condition.wait() }
    while threads > 0 { condition.wait() }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    if let data = try? encoder.encode(records) {
      try? DurableStorage.write(data, to: launchDir.appendingPathComponent("supervision.json"))
    }
    return outcome!
  }

  func restartReport() -> String {
    condition.withLock {
      "roles: " + records.keys.sorted().map { r in
        let x = records[r]!
        return "\(r) \(x.starts) starts (\(x.killedBySignal) killed, \(x.errorExits) error exits)"
      }.joined(separator: ", ")
    }
  }

  /// SIGINT/SIGTERM: the trainer is asked to stop after its step with a checkpoint, then
  /// every other role is stopped; a second signal kills every role at once.
  func handleSignals() -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signo in
      signal(signo, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
      source.setEventHandler { [self] in
        condition.withLock {
          if stopSignal == nil {
            stopSignal = signo
            log("signal \(signo): stopping the trainer after its current step, then the other roles")
            if let trainer = running["trainer"] { kill(trainer.processIdentifier, SIGTERM) } else { finish(.stopped(signal: signo)) }
          } else {
            for p in running.values { kill(p.processIdentifier, SIGKILL) }
            _exit(128 + signo)
          }
        }
      }
      source.resume()
      return source
    }
  }

  /// Copies a role's output line by line, each prefixed with "[role] ".
  private func forward(_ pipe: Pipe, role: String, to handle: FileHandle) {
    final class Pending: @unchecked Sendable { var bytes = Data() }
    let pending = Pending()
    pipe.fileHandleForReading.readabilityHandler = { [self] h in
      let chunk = h.availableData
      guard !chunk.isEmpty else {
        if !pending.bytes.isEmpty { emit("[\(role)] " + String(decoding: pending.bytes, as: UTF8.self), to: handle) }
        pending.bytes = Data()
        h.readabilityHandler = nil
        return
      }
      pending.bytes.append(chunk)
      // Progress bars redraw with \r: each redraw is a line here.
      while let end = pending.bytes.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
        let line = pending.bytes[pending.bytes.startIndex..<end]
        pending.bytes = Data(pending.bytes[pending.bytes.index(after: end)...])
        if !line.isEmpty { emit("[\(role)] " + String(decoding: line, as: UTF8.self), to: handle) }
      }
    }
  }

  private func emit(_ line: String, to handle: FileHandle) {
    outputLock.withLock { try? handle.write(contentsOf: Data((line + "\n").utf8)) }
  }
}

struct SupervisorError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
