import Foundation
import RlaxModel
import RlaxPlugins
import RlaxTasks

/// Supervised fine-tuning on a task's (prompt, answer) pairs: next-token cross-entropy on the
/// answer and EOS tokens (the prompt is context, not target), AdamW with warm-up + cosine.
public final class SFTTrainer {
  public let config: RunConfig
  public let model: DecoderModel
  public let optimizer: AdamW
  public let task: any VerifiableTask
  public let format = PromptFormat()
  public private(set) var step = 0

  public struct StepReport: Sendable {
    public var step: Int
    public var loss: Double
    public var learningRate: Double
    public var gradNorm: Double
    public var tokens: Int
  }

  public init(config: RunConfig, model: DecoderModel) throws {
    try config.validate()
    self.config = config
    self.model = model
    optimizer = try AdamW(config: config.optimizer, params: model.params)
    task = try config.task.make()
  }

  /// The batch of training step `step`: a pure function of the seed and the step, so a
  /// resumed run sees the same data.
  public func batch(step: Int) throws -> (batch: TokenBatch, weights: [Float]) {
    let problems = task.problems(split: .train, count: config.sft.batchSize, seed: config.sft.seed &* 1_000_003 &+ UInt64(step))
    let sequences = try problems.map { try format.trainingSequence($0) }
    let length = sequences.map { $0.tokens.count - 1 }.max()!
    guard length <= model.config.maxSeqLen else {
      throw PluginError.invalidCall(plugin: "sft", operation: "batch", reason: "a training sequence needs \(length) positions, maxSeqLen is \(model.config.maxSeqLen)")
    }
    var tokens: [Int32] = [], targets: [Int32] = [], weights: [Float] = []
    for (sequence, answerStart) in sequences {
      let inputs = Array(sequence.dropLast()), next = Array(sequence.dropFirst())
      let pad = length - inputs.count
      tokens += inputs + [Int32](repeating: format.tokenizer.padID, count: pad)
      targets += next + [Int32](repeating: format.tokenizer.padID, count: pad)
      // Target i is sequence[i + 1]: answer tokens start at answerStart.
      weights += (0..<inputs.count).map { $0 + 1 >= answerStart ? 1 : 0 } + [Float](repeating: 0, count: pad)
    }
    return (TokenBatch(batch: sequences.count, length: length, tokens: tokens, targets: targets), weights)
  }

  /// One optimisation step.
  public func trainStep() throws -> StepReport {
    let (batch, weights) = try batch(step: step)
    let total = weights.reduce(0, +)
    try model.params.zeroGrads()
    let pass = try model.forward(batch)
    let logprobs = try model.logprobs(pass)
    let loss = -zip(logprobs, weights).reduce(0.0) { $0 + Double($1.0 * $1.1) } / Double(total)
    try model.backward(pass, dlogprobs: weights.map { -$0 / total })
    let lr = config.schedule.learningRate(step: step, totalSteps: config.sft.steps, peak: config.optimizer.learningRate)
    let report = try optimizer.apply(lr: lr, decays: model.decays)
    step += 1
    return StepReport(step: step, loss: loss, learningRate: lr, gradNorm: report.gradNorm, tokens: batch.batch * batch.length)
  }

  /// Saves model, optimizer, config and step.
  public func save(to dir: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try Checkpoint.save(model: model, optimizer: optimizer, state: TrainingState(step: step, seed: config.sft.seed),
                        extraJSON: ["run": try encoder.encode(config)], to: dir)
  }

  /// Continues from a checkpoint saved by `save`.
  public func resume(from dir: URL) throws {
    try Checkpoint.loadOptimizer(dir, into: optimizer)
    step = try Checkpoint.describe(dir).state.step
  }
}
