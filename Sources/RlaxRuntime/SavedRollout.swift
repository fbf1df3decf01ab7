import Foundation

/// A group as the controller's journal keeps it: what the worker produced, with floats as
/// their bit patterns so that a replayed group is bit-identical to the one reported. The
/// prompt, seeds and texts follow from the plan and are rebuilt, not stored.
struct SavedRollout: Codable, Equatable {
  var step: Int
  var index: Int
  var version: Int
  var worker: String
  var started: Double
  var seconds: Double
  var preemptions: Int
  var rewardWarnings: Int
  var tokens: [[Int32]]
  var logprobBits: [[UInt32]]
  var rewardBits: [UInt64]

  init(_ r: GroupRollout) {
    step = r.item.step
    index = r.item.index
    version = r.version
    worker = r.worker
    started = r.started.timeIntervalSince1970
    seconds = r.seconds
    preemptions = r.preemptions
    rewardWarnings = r.rewardWarnings
    tokens = r.completions
    logprobBits = r.samplerLogprobs.map { $0.map(\.bitPattern) }
    rewardBits = r.rewards.map(\.bitPattern)
  }

  func rollout(plan: Controller) throws -> GroupRollout {
    GroupRollout(item: try plan.workItem(step: step, index: index), version: version, completions: tokens,
                 samplerLogprobs: logprobBits.map { $0.map(Float.init(bitPattern:)) },
                 texts: tokens.map(plan.format.completionText), rewards: rewardBits.map(Double.init(bitPattern:)),
                 worker: worker, started: Date(timeIntervalSince1970: started), seconds: seconds,
                 preemptions: preemptions, rewardWarnings: rewardWarnings)
  }
}
