import Foundation
import RlaxConfig
import RlaxPlugins

/// AdamW (Loshchilov & Hutter 2019) with gradient clipping by global norm. Decay applies to
/// matrices only, not to norm scales.
public struct AdamWConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var learningRate: Double = 3e-3
  public var beta1: Double = 0.9
  public var beta2: Double = 0.95
  public var eps: Double = 1e-8
  public var weightDecay: Double = 0.1
  /// Clip the global gradient norm to this value; 0 disables clipping.
  public var clipNorm: Double = 1.0
  public init() {}

  public func validate(path: String) throws {
    try require(learningRate > 0, "\(path).learningRate", "must be > 0, got \(learningRate)")
    try require((0..<1).contains(beta1), "\(path).beta1", "must be in [0, 1), got \(beta1)")
    try require((0..<1).contains(beta2), "\(path).beta2", "must be in [0, 1), got \(beta2)")
    try require(eps > 0, "\(path).eps", "must be > 0, got \(eps)")
    try require(weightDecay >= 0, "\(path).weightDecay", "must be >= 0, got \(weightDecay)")
    try require(clipNorm >= 0, "\(path).clipNorm", "must be >= 0 (0 = off), got \(clipNorm)")
  }
}

/// The optimizer's state on the device: first and second moments in the parameter store's
/// layout, and the step count.
public final class AdamW {
  public let config: AdamWConfig
  let params: ParameterStore
  public let m: DeviceBuffer
  public let v: DeviceBuffer
  public var step = 0

  public init(config: AdamWConfig, params: ParameterStore) throws {
    try config.validate(path: "optimizer")
    self.config = config
    self.params = params
    m = try params.backend.allocate(bytes: max(params.totalCount, 1) * 4)
    v = try params.backend.allocate(bytes: max(params.totalCount, 1) * 4)
    try params.backend.fill(params.flat(m), 0)
    try params.backend.fill(params.flat(v), 0)
  }

  public struct StepReport: Sendable {
    public var gradNorm: Double
    public var clipScale: Double
  }

  /// Applies one update at learning rate `lr` from the gradients in the store.
  @discardableResult
  public func apply(lr: Double, decays: (String) -> Bool) throws -> StepReport {
    // Data parallel: sum the gradients across replicas first (a no-op cost on one device).
    if params.backend.supportsAllReduce { try params.backend.allReduce(params.flat(params.grads)) }
    let norm = try params.gradNorm()
    guard norm.isFinite else {
      throw PluginError.invalidCall(plugin: params.backend.name, operation: "AdamW step", reason: "gradient norm is \(norm)")
    }
    let scale = config.clipNorm > 0 && norm > config.clipNorm ? config.clipNorm / norm : 1
    step += 1
    let b = params.backend
    for e in params.entries {
      try b.adamw(param: params.value(e.name), grad: params.grad(e.name), m: params.view(e.name, in: m), v: params.view(e.name, in: v),
                  .init(lr: Float(lr), beta1: Float(config.beta1), beta2: Float(config.beta2), eps: Float(config.eps),
                        weightDecay: decays(e.name) ? Float(config.weightDecay) : 0, gradScale: Float(scale), step: step))
    }
    return StepReport(gradNorm: norm, clipScale: scale)
  }
}

/// Linear warm-up, then cosine decay to `minRatio` of the peak (Loshchilov & Hutter 2017).
public struct ScheduleConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var warmupSteps = 10
  public var minRatio: Double = 0.1
  public init() {}

  public func validate(path: String) throws {
    try require(warmupSteps >= 0, "\(path).warmupSteps", "must be >= 0, got \(warmupSteps)")
    try require((0...1).contains(minRatio), "\(path).minRatio", "must be in [0, 1], got \(minRatio)")
  }

  /// The learning rate of 0-based `step` out of `totalSteps`, for peak `peak`.
  public func learningRate(step: Int, totalSteps: Int, peak: Double) -> Double {
    if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
    let decaySteps = max(totalSteps - warmupSteps, 1)
    let progress = min(Double(step - warmupSteps) / Double(decaySteps), 1)
    return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + cos(.pi * progress)))
  }
}
