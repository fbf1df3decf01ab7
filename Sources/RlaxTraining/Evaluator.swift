import Foundation
import RlaxModel
import RlaxTasks

/// pass@k on held-out problems with the unbiased estimator of Chen et al. (2021): n samples
/// per problem, c of them correct, pass@k = 1 - C(n-c, k) / C(n, k), averaged over problems.
public struct Evaluator {
  public let config: EvalConfig
  public let task: any VerifiableTask
  public let format = PromptFormat()

  public init(config: EvalConfig, task: any VerifiableTask) throws {
    try config.validate(path: "eval")
    // No problems would make every pass@k 0 / 0 = NaN, which no JSON can hold.
    try TaskConfig.requireProblems(task, in: [Split(rawValue: config.split) ?? .heldOut])
    self.config = config
    self.task = task
  }

  public struct ProblemResult: Codable, Sendable {
    public var prompt: String
    public var answer: String
    public var correct: Int
    public var samples: [String]
  }

  public struct Report: Codable, Sendable {
    public var task: String
    public var problems: Int
    public var samples: Int
    /// "pass@1" -> value in [0, 1].
    public var passAtK: [String: Double]
    public var meanReward: Double
    public var details: [ProblemResult]
  }

  public func evaluate(_ model: DecoderModel) throws -> Report {
    let problems = task.problems(split: Split(rawValue: config.split) ?? .heldOut, count: config.problems, seed: config.seed)
    let sampler = try Sampler(model: model, config: config.sampler, stopToken: format.tokenizer.eosID, padToken: format.tokenizer.padID)
    // Every (problem, sample) row gets its own RNG stream, so results do not depend on batching.
    var rows: [(problem: Int, prompt: [Int32], seed: UInt64)] = []
    for (i, problem) in problems.enumerated() {
      let prompt = try format.promptTokens(problem)
      for s in 0..<config.samples { rows.append((i, prompt, config.seed &* 0x9E37_79B9 &+ UInt64(i * config.samples + s))) }
    }
    var texts = [[String]](repeating: [], count: problems.count)
    var rewards = [[Double]](repeating: [], count: problems.count)
    for start in stride(from: 0, to: rows.count, by: config.batchSize) {
      let chunk = rows[start..<min(start + config.batchSize, rows.count)]
      let completions = try sampler.generate(prompts: chunk.map(\.prompt), seeds: chunk.map(\.seed))
      for (row, completion) in zip(chunk, completions) {
        let text = format.completionText(completion.tokens)
        texts[row.problem].append(text)
        rewards[row.problem].append(task.reward(problem: problems[row.problem], completion: text))
      }
    }
    let correct = rewards.map { $0.filter { $0 >= 1 }.count }
    var pass: [String: Double] = [:]
    for k in config.ks {
      pass["pass@\(k)"] = correct.map { PassAtK.unbiased(n: config.samples, c: $0, k: k) }.reduce(0, +) / Double(problems.count)
    }
    let meanReward = rewards.flatMap { $0 }.reduce(0, +) / Double(max(rows.count, 1))
    let details = problems.indices.map {
      ProblemResult(prompt: problems[$0].prompt, answer: problems[$0].answer, correct: correct[$0], samples: texts[$0])
    }
    return Report(task: task.name, problems: problems.count, samples: config.samples, passAtK: pass, meanReward: meanReward, details: details)
  }
}
