import Foundation
import RlaxTransport

/// Groups on the wire (Protos/rlax/v1/controller.proto): a `Rollout` carries what the worker
/// produced; the prompt, seeds and texts follow from the plan and are rebuilt on arrival.
extension GroupRollout {
  var message: Rlax_V1_Rollout {
    .with { m in
      m.step = UInt64(item.step)
      m.index = UInt32(item.index)
      m.version = UInt64(version)
      m.samples = completions.indices.map { j in
        .with {
          $0.tokens = completions[j]
          $0.logprobs = samplerLogprobs[j]
          $0.reward = rewards[j]
        }
      }
      m.worker = worker
      m.started = started.timeIntervalSince1970
      m.seconds = seconds
      m.preemptions = UInt32(clamping: preemptions)
      m.rewardWarnings = UInt32(clamping: rewardWarnings)
    }
  }

  /// The group a message describes; an item the plan does not have is an error.
  init(message m: Rlax_V1_Rollout, plan: Controller) throws {
    guard m.step < 1 << 40, Int(m.index) < plan.indexLimit, m.version < 1 << 40 else {
      throw LedgerError.badItem("result for step \(m.step) prompt \(m.index) version \(m.version): no such item in the plan")
    }
    let completions = m.samples.map(\.tokens)
    self.init(item: try plan.workItem(step: Int(m.step), index: Int(m.index)), version: Int(m.version), completions: completions,
              samplerLogprobs: m.samples.map(\.logprobs), texts: completions.map(plan.format.completionText),
              rewards: m.samples.map(\.reward), worker: m.worker, started: Date(timeIntervalSince1970: m.started.isFinite ? m.started : 0),
              seconds: m.seconds.isFinite ? m.seconds : 0, preemptions: Int(m.preemptions), rewardWarnings: Int(m.rewardWarnings))
  }
}

extension ControllerCounters {
  var message: Rlax_V1_CountersReply {
    .with {
      $0.issued = UInt64(issued)
      $0.leases = UInt64(leases)
      $0.accepted = UInt64(accepted)
      $0.regenerated = UInt64(regenerated)
      $0.expiredLeases = UInt64(expiredLeases)
      $0.lateResults = UInt64(lateResults)
      $0.duplicateResults = UInt64(duplicateResults)
      $0.restarts = UInt64(restarts)
    }
  }

  init(message m: Rlax_V1_CountersReply) {
    self.init()
    issued = Int(clamping: m.issued)
    leases = Int(clamping: m.leases)
    accepted = Int(clamping: m.accepted)
    regenerated = Int(clamping: m.regenerated)
    expiredLeases = Int(clamping: m.expiredLeases)
    lateResults = Int(clamping: m.lateResults)
    duplicateResults = Int(clamping: m.duplicateResults)
    restarts = Int(clamping: m.restarts)
  }
}
