import Foundation
import RlaxTraining

/// One line of RUN_DIR/metrics.jsonl.
public struct StepMetrics: Codable, Sendable {
  public var step: Int
  public var version: Int
  public var versionLag: Int
  public var rewardMean: Double
  /// Fraction of this step's samples that were correct (training pass@1 estimate).
  public var trainPassAt1: Double
  public var loss: Double
  public var gradNorm: Double
  /// max |logprob(current) - logprob(behaviour, recomputed by the trainer)| over response
  /// tokens: exactly 0 on-policy (k = 0) before the update.
  public var maxRatioDeviation: Double
  /// max |sampler log-prob - trainer recomputation| (inference/training numerical mismatch).
  public var samplerMismatch: Double
  public var keptGroups: Int
  public var generatedGroups: Int
  public var waitSeconds: Double
  public var trainSeconds: Double
  public var tokensPerSecond: Double
  public var algorithm: [String: Double]
  /// The trainer's simulated device time this step (backends with a clock), by bound, and
  /// its FLOP utilisation of one chip's peak.
  public var simulated: SimulatedStep?
  /// Groups rl.curation skipped this step (present when curation is on).
  public var curationSkipped: Int?
  /// Held-out pass@k after this step, on the steps that eval.every chooses.
  public var heldOut: [String: Double]?

  public struct SimulatedStep: Codable, Sendable {
    public var seconds: Double
    public var compute: Double
    public var memory: Double
    public var collectives: Double
    public var mfu: Double
  }
}

extension StepMetrics {
  /// The metrics of a step that trained on `groups`: reward and training pass@1 over their
  /// samples, and what the last update reported.
  static func trained(step: Int, groups: [GroupRollout], loss: Double, gradNorm: Double, maxRatioDeviation: Double,
                      samplerMismatch: Double, algorithm: [String: Double]) -> StepMetrics {
    // Rewards as the trainer's batch holds them (float32).
    let rewards = groups.flatMap(\.rewards).map { Double(Float($0)) }
    return StepMetrics(step: step, version: 0, versionLag: 0, rewardMean: rewards.reduce(0, +) / Double(max(rewards.count, 1)),
                       trainPassAt1: Double(rewards.filter { $0 >= 1 }.count) / Double(max(rewards.count, 1)),
                       loss: loss, gradNorm: gradNorm, maxRatioDeviation: maxRatioDeviation, samplerMismatch: samplerMismatch,
                       keptGroups: groups.count, generatedGroups: groups.count, waitSeconds: 0, trainSeconds: 0,
                       tokensPerSecond: 0, algorithm: algorithm, simulated: nil)
  }

  static func empty(step: Int) -> StepMetrics {
    StepMetrics(step: step, version: 0, versionLag: 0, rewardMean: 0, trainPassAt1: 0, loss: 0, gradNorm: 0, maxRatioDeviation: 0,
                samplerMismatch: 0, keptGroups: 0, generatedGroups: 0, waitSeconds: 0, trainSeconds: 0, tokensPerSecond: 0, algorithm: [:],
                simulated: nil)
  }
}

/// The controller's accounting: every (step, prompt) group generated and consumed.
public struct Accounting: Codable, Sendable, Equatable {
  public var issued = 0
  public var consumed = 0
  public var droppedByDynamicSampling = 0
  /// Groups whose pass rate was outside rl.curation's band.
  public var skippedByCuration = 0
  /// Groups issued before a stop and never consumed (issued again after resume).
  public var abandonedAtStop = 0

  public init() {}

  /// Checkpoints written before a counter existed read it as 0.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    issued = try c.decode(Int.self, forKey: .issued)
    consumed = try c.decode(Int.self, forKey: .consumed)
    droppedByDynamicSampling = try c.decode(Int.self, forKey: .droppedByDynamicSampling)
    skippedByCuration = try c.decodeIfPresent(Int.self, forKey: .skippedByCuration) ?? 0
    abandonedAtStop = try c.decode(Int.self, forKey: .abandonedAtStop)
  }
}

/// RUN_DIR/summary.json.
public struct RunSummary: Codable, Sendable {
  public var backend: String
  public var algorithm: String
  public var store: String
  public var steps: Int
  public var workers: Int
  public var maxStaleness: Int
  public var groupSize: Int
  public var seed: UInt64
  public var wallSeconds: Double
  public var warmStartSeconds: Double
  public var rlSeconds: Double
  public var weightsSHA256: String
  public var eval: EvalPair
  public var throughput: Throughput
  public var accounting: Accounting
  /// The controller's accounting of leases and results (generation, where `accounting` is
  /// the trainer's consumption).
  public var controller: ControllerCounters?
  public var preemptionsSurvived: Int
  public var rewardWarnings: Int
  /// Simulated device time (backends with a clock, such as tpu-sim), beside wall time.
  public var simulatedSeconds: SimulatedTime?
  public var resumedFromStep: Int?

  public struct SimulatedTime: Codable, Sendable {
    public var trainer: Double
    public var workers: [Double]
    /// The trainer's simulated time by bound, and its FLOP utilisation of one chip's peak.
    public var trainerCompute: Double?
    public var trainerMemory: Double?
    public var trainerCollectives: Double?
    public var trainerMFU: Double?
  }

  public struct EvalPair: Codable, Sendable {
    public var before: [String: Double]
    public var after: [String: Double]
  }

  public struct Throughput: Codable, Sendable {
    public var samplesPerSecond: Double
    /// Seconds the trainer waited for rollouts, and spent training.
    public var trainerWaitSeconds: Double
    public var trainerComputeSeconds: Double
    /// Seconds the workers spent generating and scoring.
    public var workerBusySeconds: Double
    /// Share of generation time that ran while the trainer was training (hidden behind it).
    public var overlap: Double
  }

  enum CodingKeys: String, CodingKey {
    case backend, algorithm, store, steps, workers, maxStaleness = "max_staleness", groupSize = "group_size", seed
    case wallSeconds = "wall_seconds", warmStartSeconds = "warm_start_seconds", rlSeconds = "rl_seconds"
    case weightsSHA256 = "weights_sha256", eval, throughput, accounting, controller, preemptionsSurvived = "preemptions_survived"
    case rewardWarnings = "reward_warnings", simulatedSeconds = "simulated_seconds", resumedFromStep = "resumed_from_step"
  }
}
