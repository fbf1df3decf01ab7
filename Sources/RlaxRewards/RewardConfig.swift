/// How a run scores completions: the deadline every reward call gets, optionally a foreign
/// reward function replacing the task's own verifier, the range a reward must lie in, and how
/// many failed samples a run tolerates before it stops.
///
/// JSON form (every key may be left out; these are the defaults):
/// `{"timeoutSeconds": 5, "minReward": -1e6, "maxReward": 1e6, "maxFailureShare": 0.5,
/// "failureWindow": 256, "foreign": {"library": "/path/librewards.so", "symbol": "my_reward",
/// "signature": "(cstring prompt, cstring completion) -> double"}}`.
///
/// A sample *fails* when its function throws, overruns `timeoutSeconds`, crashes (out of
/// process), returns NaN or an infinity, or returns a value outside `minReward...maxReward`;
/// it then scores 0, a warning line names the function and the reason, and when more than
/// `maxFailureShare` of the last `failureWindow` samples have failed the run stops with
/// ``RewardError/tooManyFailures(_:)``.
public struct RewardConfig: Codable, Equatable, Sendable {
  /// Seconds one sample's reward may take; past it the sample scores 0 and a timeout is
  /// counted. Must be > 0 (`.infinity` waits forever).
  public var timeoutSeconds: Double = 5
  /// The smallest reward accepted; a lower value fails the sample (scored 0). Finite.
  public var minReward: Double = RewardLimits.defaultMinReward
  /// The largest reward accepted; a higher value fails the sample (scored 0). Finite, >= minReward.
  public var maxReward: Double = RewardLimits.defaultMaxReward
  /// The share of failed samples in the last `failureWindow` above which the run stops, in
  /// 0...1 (1 never stops; 0 stops at the first failure).
  public var maxFailureShare: Double = RewardLimits.defaultMaxFailureShare
  /// How many of the most recent samples `maxFailureShare` is measured over, in
  /// ``RewardLimits/failureWindowRange``.
  public var failureWindow: Int = RewardLimits.defaultFailureWindow
  /// A C function to score with instead of the task's verifier, run in `rlax-reward-host`
  /// child processes.
  public var foreign: ForeignRewardConfig?

  public init(timeoutSeconds: Double = 5, foreign: ForeignRewardConfig? = nil) {
    self.timeoutSeconds = timeoutSeconds
    self.foreign = foreign
  }

  /// The range and failure limits, as a ``RewardGuard`` takes them.
  public var limits: RewardLimits {
    get {
      RewardLimits(minReward: minReward, maxReward: maxReward, maxFailureShare: maxFailureShare, failureWindow: failureWindow)
    }
    set {
      minReward = newValue.minReward
      maxReward = newValue.maxReward
      maxFailureShare = newValue.maxFailureShare
      failureWindow = newValue.failureWindow
    }
  }

  private enum CodingKeys: String, CodingKey {
    case timeoutSeconds, minReward, maxReward, maxFailureShare, failureWindow, foreign
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 5
    minReward = try c.decodeIfPresent(Double.self, forKey: .minReward) ?? RewardLimits.defaultMinReward
    maxReward = try c.decodeIfPresent(Double.self, forKey: .maxReward) ?? RewardLimits.defaultMaxReward
    maxFailureShare = try c.decodeIfPresent(Double.self, forKey: .maxFailureShare) ?? RewardLimits.defaultMaxFailureShare
    failureWindow = try c.decodeIfPresent(Int.self, forKey: .failureWindow) ?? RewardLimits.defaultFailureWindow
    foreign = try c.decodeIfPresent(ForeignRewardConfig.self, forKey: .foreign)
  }

  /// Checks the values without loading anything: the timeout is positive, the limits are
  /// usable (see ``RewardLimits/validate()``) and the foreign signature (if any) parses.
  public func validate() throws {
    guard timeoutSeconds > 0 else {
      throw RewardError.invalidConfig(field: "timeoutSeconds", reason: "must be > 0, got \(timeoutSeconds)")
    }
    try limits.validate()
    try foreign?.validate()
  }
}

/// What a ``RewardGuard`` accepts as a reward and how many failures it tolerates.
public struct RewardLimits: Sendable, Equatable {
  public static let defaultMinReward = -1e6
  public static let defaultMaxReward = 1e6
  public static let defaultMaxFailureShare = 0.5
  public static let defaultFailureWindow = 256
  /// The window sizes accepted.
  public static let failureWindowRange = 1...1_000_000

  /// Rewards outside `minReward...maxReward` fail the sample (they would otherwise overflow
  /// the trainer's float32 rewards and its JSON metrics).
  public var minReward: Double
  public var maxReward: Double
  /// More than this share of failed samples among the last `failureWindow` stops the run.
  public var maxFailureShare: Double
  public var failureWindow: Int

  public init(minReward: Double = defaultMinReward, maxReward: Double = defaultMaxReward,
              maxFailureShare: Double = defaultMaxFailureShare, failureWindow: Int = defaultFailureWindow) {
    self.minReward = minReward
    self.maxReward = maxReward
    self.maxFailureShare = maxFailureShare
    self.failureWindow = failureWindow
  }

  /// Never stops a run and accepts every finite reward (still zeroing non-finite ones).
  public static let lenient = RewardLimits(minReward: -Double.greatestFiniteMagnitude, maxReward: .greatestFiniteMagnitude,
                                           maxFailureShare: 1, failureWindow: defaultFailureWindow)

  /// Throws ``RewardError/invalidConfig(field:reason:)`` naming the field and its range.
  public func validate() throws {
    guard minReward.isFinite else {
      throw RewardError.invalidConfig(field: "minReward", reason: "must be a finite number, got \(minReward)")
    }
    guard maxReward.isFinite, maxReward >= minReward else {
      throw RewardError.invalidConfig(field: "maxReward", reason: "must be finite and >= minReward (\(minReward)), got \(maxReward)")
    }
    guard maxFailureShare >= 0 && maxFailureShare <= 1 else {
      throw RewardError.invalidConfig(field: "maxFailureShare", reason: "must be in 0...1, got \(maxFailureShare)")
    }
    guard Self.failureWindowRange.contains(failureWindow) else {
      throw RewardError.invalidConfig(
        field: "failureWindow",
        reason: "must be in \(Self.failureWindowRange.lowerBound)...\(Self.failureWindowRange.upperBound), got \(failureWindow)")
    }
  }
}

/// A C-ABI reward function: which library, which exported symbol, and its signature in the
/// ``ForeignSignature`` language, e.g. `(cstring prompt, cstring completion) -> double`.
public struct ForeignRewardConfig: Codable, Equatable, Sendable {
  public var library: String
  public var symbol: String
  public var signature: String

  public init(library: String, symbol: String, signature: String) {
    self.library = library
    self.symbol = symbol
    self.signature = signature
  }

  /// Checks that the fields are non-empty and the signature parses.
  public func validate() throws {
    guard !library.isEmpty else { throw RewardError.invalidConfig(field: "foreign.library", reason: "must not be empty") }
    guard !symbol.isEmpty else { throw RewardError.invalidConfig(field: "foreign.symbol", reason: "must not be empty") }
    _ = try ForeignSignature(parsing: signature)
  }
}
