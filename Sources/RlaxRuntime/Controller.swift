import Foundation
import RlaxTasks
import RlaxTraining

/// The controller decides, from the run seed alone, which prompts every trainer step uses,
/// which random stream every sample uses, and which weight version every rollout must come
/// from. Nothing here depends on timing or on how many workers there are, so any role can be
/// restarted and the run still ends with the same weights.
public struct Controller: Sendable {
  public let config: RLConfig
  public let task: any VerifiableTask
  public let format = PromptFormat()

  public init(config: RLConfig, task: any VerifiableTask) {
    self.config = config
    self.task = task
  }

  /// Prompt `index` of `step`. Indices past promptsPerStep are the refills of dynamic sampling.
  public func problem(step: Int, index: Int) -> Problem {
    task.problems(split: .train, count: 1, seed: mix(config.seed, UInt64(step), UInt64(index), 0x5052_4F4D_5054))[0]
  }

  /// The random stream of sample `sample` of prompt `index` at `step`.
  public func seed(step: Int, index: Int, sample: Int) -> UInt64 {
    mix(config.seed, UInt64(step), UInt64(index), UInt64(sample) &+ 0x5341_4D50)
  }

  /// The weight version rollouts for `step` must come from: the newest version published at
  /// or before step - maxStaleness (version v = weights after v updates).
  public func version(step: Int) -> Int {
    let allowed = max(0, step - config.maxStaleness)
    return allowed / config.pushEvery * config.pushEvery
  }

  /// Prompt indices a step may use: promptsPerStep, then that many again for each refill.
  public var indexLimit: Int { config.promptsPerStep * (config.maxRefills + 1) }

  /// The work of one prompt group.
  public func workItem(step: Int, index: Int) throws -> WorkItem {
    let problem = problem(step: step, index: index)
    return WorkItem(step: step, index: index, problem: problem, promptTokens: try format.promptTokens(problem),
                    seeds: (0..<config.groupSize).map { seed(step: step, index: index, sample: $0) }, version: version(step: step))
  }
}

/// SplitMix64 finalizer over several words: a stable hash for deriving seeds.
func mix(_ words: UInt64...) -> UInt64 {
  var h: UInt64 = 0x9E37_79B9_7F4A_7C15
  for w in words {
    h ^= w &+ 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)
    var z = h
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    h = z ^ (z >> 31)
  }
  return h
}

/// One prompt's group of G samples to generate, with the version they must come from.
public struct WorkItem: Sendable {
  public var step: Int
  public var index: Int
  public var problem: Problem
  public var promptTokens: [Int32]
  public var seeds: [UInt64]
  public var version: Int
}

/// A generated and scored group, stamped with the one version that produced it.
public struct GroupRollout: Sendable {
  public var item: WorkItem
  public var version: Int
  public var completions: [[Int32]]
  /// Log-probs the sampler computed (the inference side; the trainer recomputes its own).
  public var samplerLogprobs: [[Float]]
  public var texts: [String]
  public var rewards: [Double]
  /// The worker's name (`worker-N`).
  public var worker: String
  /// When the worker started and finished it (for the overlap measurement).
  public var started: Date
  public var seconds: Double
  /// Device preemptions the worker survived while generating it, and samples its reward
  /// function failed to score (counted where the worker's reward counters are its own).
  public var preemptions = 0
  public var rewardWarnings = 0
}
