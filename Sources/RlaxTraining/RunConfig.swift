import RlaxConfig
import RlaxModel
import RlaxTasks

/// Which task a run trains and evaluates on: a registry name and its options
/// (`--set task.name=countdown`, `--set task.options={"count":"3"}`).
public struct TaskConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var name = "arithmetic"
  public var options: [String: String] = ["minDigits": "1", "maxDigits": "2", "ops": "+"]
  public init() {}

  public func validate(path: String) throws {
    do { _ = try make() } catch { throw ConfigError.invalid(path: path, reason: "\(error)") }
  }

  public func make() throws -> any VerifiableTask { try TaskRegistry.make(name: name, options: options) }
}

/// Supervised fine-tuning settings.
public struct SFTConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var steps = 800
  public var batchSize = 32
  public var seed: UInt64 = 1
  /// Save a checkpoint every this many steps (0: only at the end).
  public var checkpointEvery = 0
  public init() {}

  public func validate(path: String) throws {
    try require(steps >= 1, "\(path).steps", "must be >= 1, got \(steps)")
    try require(batchSize >= 1, "\(path).batchSize", "must be >= 1, got \(batchSize)")
    try require(checkpointEvery >= 0, "\(path).checkpointEvery", "must be >= 0, got \(checkpointEvery)")
  }
}

/// Held-out evaluation settings: pass@k from `samples` completions of each of `problems`
/// held-out problems.
public struct EvalConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var problems = 100
  public var samples = 16
  public var ks = [1, 8]
  public var seed: UInt64 = 1234
  /// Rows generated together.
  public var batchSize = 128
  public var sampler: SamplerConfig = {
    var s = SamplerConfig()
    s.temperature = 1.0
    return s
  }()
  public init() {}

  public func validate(path: String) throws {
    try require(problems >= 1, "\(path).problems", "must be >= 1, got \(problems)")
    try require(!ks.isEmpty && ks.allSatisfy { $0 >= 1 && $0 <= samples }, "\(path).ks",
                "every k must be in 1...samples (\(samples)), got \(ks)")
    try require(batchSize >= 1, "\(path).batchSize", "must be >= 1, got \(batchSize)")
    try sampler.validate(path: "\(path).sampler")
  }
}

/// The whole tree of one run, printable with `rlax config show`.
public struct RunConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var model = DecoderConfig()
  public var optimizer = AdamWConfig()
  public var schedule = ScheduleConfig()
  public var task = TaskConfig()
  public var sft = SFTConfig()
  public var eval = EvalConfig()
  public init() {}

  /// The defaults, with the tokenizer's vocabulary injected.
  public static func defaults() -> RunConfig {
    var c = RunConfig()
    c.model.vocabSize = CharTokenizer().vocabSize
    return c
  }

  public func validate(path: String = "") throws {
    let p = { (name: String) in path.isEmpty ? name : "\(path).\(name)" }
    try model.validate(path: p("model"))
    try optimizer.validate(path: p("optimizer"))
    try schedule.validate(path: p("schedule"))
    try task.validate(path: p("task"))
    try sft.validate(path: p("sft"))
    try eval.validate(path: p("eval"))
  }
}
