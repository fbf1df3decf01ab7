/// How a run scores completions: the deadline every reward call gets, and optionally a foreign
/// reward function replacing the task's own verifier.
///
/// JSON form: `{"timeoutSeconds": 5, "foreign": {"library": "/path/librewards.so",
/// "symbol": "my_reward", "signature": "(cstring prompt, cstring completion) -> double"}}`;
/// both keys may be left out.
public struct RewardConfig: Codable, Equatable, Sendable {
  /// Seconds one sample's reward may take; past it the sample scores 0 and a timeout is
  /// counted. Must be > 0 (`.infinity` waits forever).
  public var timeoutSeconds: Double = 5
  /// A C function to score with instead of the task's verifier, run in `rlax-reward-host`
  /// child processes.
  public var foreign: ForeignRewardConfig?

  public init(timeoutSeconds: Double = 5, foreign: ForeignRewardConfig? = nil) {
    self.timeoutSeconds = timeoutSeconds
    self.foreign = foreign
  }

  private enum CodingKeys: String, CodingKey { case timeoutSeconds, foreign }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 5
    foreign = try c.decodeIfPresent(ForeignRewardConfig.self, forKey: .foreign)
  }

  /// Checks the values without loading anything: the timeout is positive and the foreign
  /// signature (if any) parses.
  public func validate() throws {
    guard timeoutSeconds > 0 else {
      throw RewardError.invalidConfig(field: "timeoutSeconds", reason: "must be > 0, got \(timeoutSeconds)")
    }
    try foreign?.validate()
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
