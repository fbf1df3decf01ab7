import Foundation

/// Why a run could not start or resume: its directory, its record, its settings, its
/// --init checkpoint or its parameter server; each case says what to do.
public enum RunSetupError: Error, CustomStringConvertible, Equatable {
  case locked(dir: String, holder: String)
  case occupied(dir: String, record: RunRecord?, entries: [String])
  case unreadable(path: String, reason: String)
  case stray(path: String, expected: String)
  case configDiffers(dir: String, fields: [String])
  case nothingToResume(dir: String)
  case stepsNotAfterCheckpoint(dir: String, steps: Int, saved: Int)
  case initContradicts(path: String, fields: [String])
  case parameterServerNotEmpty(address: String, latest: Int)

  public var description: String {
    switch self {
    case .locked(let dir, let holder):
      "run directory \(dir) is in use by another rlax process (pid \(holder), lock \(dir)/lock); wait for it or choose another --run-dir"
    case .occupied(let dir, let record, let entries):
      (record.map { "run directory \(dir) holds another run (\($0.algorithm.name) on \($0.backend.name), \($0.config.rl.steps) steps, started \($0.created), fingerprint \($0.fingerprint.prefix(12)))" }
        ?? "run directory \(dir) is not empty (\(entries.prefix(5).joined(separator: ", "))\(entries.count > 5 ? ", ..." : ""))")
        + ": choose a new --run-dir, continue it with --resume, or replace it with --overwrite"
    case .unreadable(let path, let reason): "\(path): \(reason)"
    case .stray(let path, let expected): "unexpected entry \(path): expected \(expected); move it elsewhere"
    case .configDiffers(let dir, let fields):
      "--resume: the config differs from the one saved in \(dir)/run.json in \(fields.count) field(s):\n  "
        + fields.joined(separator: "\n  ") + "\nresume with the saved settings (plain `rlax --resume --run-dir \(dir)` uses them), or start a new --run-dir"
    case .nothingToResume(let dir): "--resume: \(dir) holds no run to resume (no run.json); start one without --resume"
    case .stepsNotAfterCheckpoint(let dir, let steps, let saved):
      "--resume: rl.steps is \(steps) but \(dir) is already checkpointed at step \(saved); pass --steps greater than \(saved) to train further"
    case .parameterServerNotEmpty(let address, let latest):
      "the parameter server \(address) already holds versions (the newest is \(latest)) from another run: start a fresh `rlax serve ps` for this one"
    case .initContradicts(let path, let fields):
      "--init \(path): the checkpoint's model contradicts the config's model fields:\n  " + fields.joined(separator: "\n  ")
        + "\ndrop these --set model.* edits (the checkpoint decides the model's shape) or use another checkpoint"
    }
  }
}
