import ArgumentParser
import Foundation
import RlaxModel
import RlaxTraining

struct SFTCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sft", abstract: "Supervised fine-tuning on a task's (prompt, answer) pairs; writes a checkpoint.")
  @OptionGroup var options: RunOptions
  @Option(help: "Checkpoint directory to write.") var out = "runs/sft"
  @Option(help: "Start from this checkpoint's weights (and optimizer state with --resume).") var initFrom: String?
  @Flag(help: "Resume the step count and optimizer state of --init-from.") var resume = false
  @Option(help: "Initialisation seed (ignored with --init-from).") var seed: UInt64 = 1
  @Flag(help: "No progress output.") var quiet = false

  func run() throws {
    let config = try options.runConfig()
    let backend = try options.makeBackend()
    let model: DecoderModel
    if let initFrom {
      model = try Checkpoint.loadModel(URL(fileURLWithPath: initFrom), backend: backend).model
    } else {
      model = try DecoderModel(config: config.model, backend: backend)
      try model.initialize(seed: seed)
    }
    let trainer = try SFTTrainer(config: config, model: model)
    if resume, let initFrom { try trainer.resume(from: URL(fileURLWithPath: initFrom)) }
    let bar = ProgressBar(total: config.sft.steps, label: "sft", quiet: quiet)
    let start = Date()
    var tokens = 0
    while trainer.step < config.sft.steps {
      let r = try trainer.trainStep()
      tokens += r.tokens
      bar.update(r.step, String(format: "loss %.4f lr %.2e |g| %.2f %.0f tok/s", r.loss, r.learningRate, r.gradNorm,
                                Double(tokens) / Date().timeIntervalSince(start)))
      if config.sft.checkpointEvery > 0 && r.step % config.sft.checkpointEvery == 0 {
        try trainer.save(to: URL(fileURLWithPath: out))
      }
    }
    try trainer.save(to: URL(fileURLWithPath: out))
    print("wrote \(out) (step \(trainer.step), \(model.params.parameterCount) parameters)")
  }
}
