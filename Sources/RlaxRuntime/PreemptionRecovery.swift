import Foundation
import RlaxModel
import RlaxPlugins

/// Recovery from a device taken away mid-work (PREEMPTED, as tpu-sim injects): the trainer
/// keeps its last checkpoint of the training state in host memory, taken at the start of every
/// step (weights, AdamW moments and step), restores it, and redoes the step with the same
/// rollouts. Because every op is deterministic, the redone step gives the same weights, so a
/// run with preemptions ends with the same weights as one without.
final class PreemptionRecovery {
  private(set) var survived = 0
  /// A preempted backend may leave a step's outputs half-written; give up after this many
  /// preemptions of one unit of work (a device that never gets through it).
  let maxRetries = 1000

  struct Snapshot {
    var values: [Float]
    var m: [Float]?
    var v: [Float]?
    var step: Int
  }

  func snapshot(_ model: DecoderModel, _ optimizer: AdamW?) throws -> Snapshot {
    let b = model.backend, p = model.params
    return Snapshot(values: try b.download(p.flat(p.values)), m: try optimizer.map { try b.download(p.flat($0.m)) },
                    v: try optimizer.map { try b.download(p.flat($0.v)) }, step: optimizer?.step ?? 0)
  }

  func restore(_ s: Snapshot, _ model: DecoderModel, _ optimizer: AdamW?) throws {
    let p = model.params
    try s.values.withUnsafeBytes { try p.values.write($0) }
    if let optimizer, let m = s.m, let v = s.v {
      try m.withUnsafeBytes { try optimizer.m.write($0) }
      try v.withUnsafeBytes { try optimizer.v.write($0) }
      optimizer.step = s.step
    }
  }

  /// Runs `body`; on PREEMPTED restores the snapshot taken before it and runs it again.
  func run<T>(_ model: DecoderModel, _ optimizer: AdamW?, _ body: () throws -> T) throws -> T {
    var saved: Snapshot?
    for attempt in 0... {
      do {
        if saved == nil { saved = try snapshot(model, optimizer) }
        return try body()
      } catch let e as PluginError where e.code == .preempted && attempt < maxRetries {
        survived += 1
        if let saved { try retrying { try restore(saved, model, optimizer) } }
      }
    }
    fatalError("unreachable")
  }

  /// Runs work with no state to restore (evaluation), again on PREEMPTED.
  func retrying<T>(_ body: () throws -> T) throws -> T {
    for attempt in 0... {
      do { return try body() } catch let e as PluginError where e.code == .preempted && attempt < maxRetries {
        survived += 1
      }
    }
    fatalError("unreachable")
  }
}
