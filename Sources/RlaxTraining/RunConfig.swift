import RlaxConfig
import RlaxModel
import RlaxRewards
import RlaxTasks

/// Which task a run trains and evaluates on: a registry name and its options
/// (`--set task.name=countdown`, `--set task.options={"count":"3"}`).
///
/// The default is countdown over 3 numbers in 1...20 with targets in 1...100: a task with many
/// right answers, where a verifier rewards any of them while SFT imitates one, so RL has
/// something to add (docs/results.md).
public struct TaskConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var name = "countdown"
  public var options: [String: String] = ["count": "3", "maxNumber": "20", "maxTarget": "100"]
  public init() {}

  public func validate(path: String) throws {
    try validate(path: path, evaluating: nil)
  }

  /// Builds the task (a JSONL file is read and checked) and, with `evaluating`, checks that
  /// both the train split (SFT and RL train on it) and the evaluated split have problems, so a
  /// dataset without held-out records is an error when the run is configured, not after
  /// training.
  public func validate(path: String, evaluating split: Split?) throws {
    do {
      let task = try make()
      if let split { try Self.requireProblems(task, in: [.train, split]) }
    } catch {
      throw ConfigError.invalid(path: path, reason: "\(error)")
    }
  }

  /// Throws when `task` has no problem in one of `splits` (naming the file and the split rule
  /// for a JSONL dataset).
  public static func requireProblems(_ task: any VerifiableTask, in splits: [Split]) throws {
    for split in splits {
      if let dataset = task as? JSONLDataset {
        try dataset.requireRecords(in: split)
      } else if task.problems(split: split, count: 1, seed: 0).isEmpty {
        throw ConfigError.invalid(path: "task", reason: "task \(task.name.debugDescription) has no \(split == .train ? "train" : "held-out") problems")
      }
    }
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
  public var problems = 200  // standard error of pass@1 about 0.02-0.03
  public var samples = 16
  /// "heldOut" (the default: generalisation) or "train" (to see memorisation).
  public var split = "heldOut"
  public var ks = [1, 8]
  public var seed: UInt64 = 1234
  /// Rows generated together.
  public var batchSize = 128
  /// Also evaluate after every `every` RL steps (0: only before and after RL), for the curve
  /// of held-out pass@k at checkpoints. Each costs one evaluation.
  public var every = 0
  public var sampler: SamplerConfig = {
    var s = SamplerConfig()
    s.temperature = 1.0
    return s
  }()
  public init() {}

  public func validate(path: String) throws {
    try require(problems >= 1, "\(path).problems", "must be >= 1, got \(problems)")
    try require(Split(rawValue: split) != nil, "\(path).split", "must be heldOut or train, got \(split)")
    try require(!ks.isEmpty && ks.allSatisfy { $0 >= 1 && $0 <= samples }, "\(path).ks",
                "every k must be in 1...samples (\(samples)), got \(ks)")
    try require(batchSize >= 1, "\(path).batchSize", "must be >= 1, got \(batchSize)")
    try require(every >= 0, "\(path).every", "must be >= 0 (0: only before and after RL), got \(every)")
    try sampler.validate(path: "\(path).sampler")
  }
}

/// Reinforcement-learning settings of the default run (RLAX's roles: controller, trainer,
/// parameter server, rollout workers).
public struct RLConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var algorithm = "grpo"
  /// --algo-opt key=value pairs for the algorithm plugin.
  public var algorithmOptions: [String: String] = [:]
  public var steps = 300
  public var promptsPerStep = 32
  /// Samples per prompt (G).
  public var groupSize = 8
  /// Rollouts for step s come from weight version >= s - maxStaleness (0 = on-policy).
  public var maxStaleness = 0
  /// Publish a new weight version every this many steps.
  public var pushEvery = 1
  /// Checkpoint every this many steps (0: only at the end).
  public var checkpointEvery = 50
  public var workers = 2
  /// Weight-store plugin (name or path) and its options; `file` gets dir=RUN_DIR/weights.
  /// The store's `keep` is `keepVersions`: `--store-opt keep=N` sets `keepVersions` to N (see
  /// ``RunConfigLoader``) and must agree with it.
  public var store = "memory"
  public var storeOptions: [String: String] = [:]
  /// Versions the parameter server keeps.
  public var keepVersions = 3
  public var learningRate: Double = 3e-4
  public var seed: UInt64 = 7
  /// SFT steps for the warm start when no --init checkpoint is given.
  public var warmStartSteps = 250
  /// Extra generation rounds allowed when dynamic sampling drops groups.
  public var maxRefills = 3
  /// Optimizer passes over each step's rollouts, and the minibatches (of whole groups) each
  /// pass is cut into: updateEpochs x minibatches AdamW steps per RL step, all against the
  /// behaviour log-probs of the policy that generated the rollouts. With more than one update
  /// the ratio leaves 1 and clipping acts even at k = 0 (PPO's multiple epochs).
  public var updateEpochs = 1
  public var minibatches = 1
  /// Online curation: train only on prompts whose group's pass rate is inside a band.
  public var curation = CurationConfig()
  public var sampler: SamplerConfig = {
    var s = SamplerConfig()
    s.maxNewTokens = 12  // the longest countdown answer of the default task, "(a-b)*c" style, is 10
    return s
  }()
  /// How samples are scored: the task's verifier, or a foreign C function
  /// (`--set 'rl.reward={"timeoutSeconds":5,"foreign":{"library":..,"symbol":..,"signature":..}}'`),
  /// each with a timeout after which the sample scores 0 and a warning is counted.
  public var reward = RewardConfig()
  public init() {}

  /// A decimal integer >= 1 without sign or spaces, or nil.
  static func positiveInteger(_ text: String) -> Int? {
    guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text), n >= 1 else { return nil }
    return n
  }

  public func validate(path: String) throws {
    try require(steps >= 1, "\(path).steps", "must be >= 1, got \(steps)")
    try require(promptsPerStep >= 1, "\(path).promptsPerStep", "must be >= 1, got \(promptsPerStep)")
    try require(groupSize >= 1, "\(path).groupSize", "must be >= 1, got \(groupSize)")
    try require(maxStaleness >= 0, "\(path).maxStaleness", "must be >= 0, got \(maxStaleness)")
    try require(pushEvery >= 1, "\(path).pushEvery", "must be >= 1, got \(pushEvery)")
    try require(workers >= 1, "\(path).workers", "must be >= 1, got \(workers)")
    let minKeep = maxStaleness / pushEvery + 2
    if let keep = storeOptions["keep"] {
      guard let n = Self.positiveInteger(keep), n >= minKeep else {
        throw ConfigError.invalid(path: "\(path).storeOptions.keep",
                                  reason: "--store-opt keep=\(keep): expected an integer >= \(minKeep) (the weight versions the store keeps; "
                                    + "this run needs at least maxStaleness / pushEvery + 2 = \(minKeep)), got \(keep.debugDescription)")
      }
      try require(n == keepVersions, "\(path).storeOptions.keep",
                  "--store-opt keep=\(keep) disagrees with \(path).keepVersions = \(keepVersions), which the run gives the store; set one of them")
    }
    try require(keepVersions >= minKeep, "\(path).keepVersions",
                "must keep at least maxStaleness / pushEvery + 2 = \(maxStaleness / pushEvery + 2) versions, got \(keepVersions)")
    try require(learningRate > 0, "\(path).learningRate", "must be > 0, got \(learningRate)")
    try require(warmStartSteps >= 0, "\(path).warmStartSteps", "must be >= 0, got \(warmStartSteps)")
    try require(updateEpochs >= 1 && updateEpochs <= 100, "\(path).updateEpochs", "must be in 1...100, got \(updateEpochs)")
    try require(minibatches >= 1 && minibatches <= promptsPerStep, "\(path).minibatches",
                "must be in 1...promptsPerStep (\(promptsPerStep)): a minibatch holds whole groups, got \(minibatches)")
    do { try reward.validate() } catch { throw ConfigError.invalid(path: "\(path).reward", reason: "\(error)") }
    try curation.validate(path: "\(path).curation")
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
  public var rl = RLConfig()
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
    try task.validate(path: p("task"), evaluating: Split(rawValue: eval.split))
    try sft.validate(path: p("sft"))
    try eval.validate(path: p("eval"))
    try rl.validate(path: p("rl"))
  }
}
