import Foundation
import GRPCCore
import RlaxSafeTensors
import RlaxTransport

/// The controller role as a process (`rlax serve controller`): it learns its run from the
/// trainer's first `Begin`, keeps it (spec.json) and its ledger's journal (journal.jsonl) in
/// its state directory, and after a restart resumes both from there.
public final class ControllerRole: @unchecked Sendable {
  public let stateDirectory: URL
  public let leaseSeconds: Double
  private let lock = NSLock()
  private var run: (spec: RunSpec, ledger: RolloutLedger)?

  var specFile: URL { stateDirectory.appendingPathComponent("spec.json") }
  var journalFile: URL { stateDirectory.appendingPathComponent("journal.jsonl") }

  public init(stateDirectory: URL, leaseSeconds: Double) throws {
    self.stateDirectory = stateDirectory
    self.leaseSeconds = leaseSeconds
    if FileManager.default.fileExists(atPath: specFile.path) {
      let text: String
      do { text = try String(contentsOf: specFile, encoding: .utf8) } catch {
        throw StorageError.io(path: specFile.path, what: "cannot read the run spec", errno: (error as NSError).underlyingErrno)
      }
      let spec = try RunSpec.parse(text)
      run = (spec, try makeLedger(spec))
    }
  }

  /// Whether a run was restored from the state directory, and what it has done.
  public var restored: ControllerCounters? { lock.withLock { run?.ledger.currentCounters } }

  func makeLedger(_ spec: RunSpec) throws -> RolloutLedger {
    try RolloutLedger(plan: Controller(config: spec.config.rl, task: try spec.config.task.make()), leaseSeconds: leaseSeconds,
                      journal: journalFile)
  }

  /// The first Begin fixes the run; later ones must describe the same run. True when it was
  /// held already.
  func begin(_ spec: RunSpec) throws -> Bool {
    try lock.withLock {
      if let run {
        let differences = try spec.differences(from: run.spec)
        guard differences.isEmpty else {
          throw RPCError(code: .failedPrecondition, message: "this controller serves another run (state in \(stateDirectory.path)); "
            + "differences: " + differences.joined(separator: "; "))
        }
        // A resumed trainer may train for more steps than the one that began.
        self.run!.spec = spec
        run.ledger.reopen()
        try DurableStorage.write(Data(try spec.json().utf8), to: specFile)
        return true
      }
      try DurableStorage.createDirectory(stateDirectory)
      try? FileManager.default.removeItem(at: journalFile)
      try DurableStorage.write(Data(try spec.json().utf8), to: specFile)
      run = (spec, try makeLedger(spec))
      return false
    }
  }

  func current() throws -> (spec: RunSpec, ledger: RolloutLedger) {
    guard let run = lock.withLock({ run }) else {
      throw RPCError(code: .failedPrecondition, message: "no trainer has begun a run at this controller yet")
    }
    return run
  }

  func waitForRun(ms: UInt32) async throws -> (spec: RunSpec, ledger: RolloutLedger) {
    let deadline = ContinuousClock.now + .milliseconds(Int(min(ms, 60_000)))
    while true {
      if let run = lock.withLock({ run }) { return run }
      guard ContinuousClock.now < deadline else { return try current() }
      try await Task.sleep(for: .milliseconds(20))
    }
  }
}
