import ArgumentParser
import Foundation
import RlaxModel
import RlaxTraining

struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval", abstract: "pass@k on the held-out split, with the unbiased estimator (Chen et al. 2021).")
  @OptionGroup var options: RunOptions
  @Option(help: "Checkpoint directory.") var checkpoint: String
  @Option(help: "Comma-separated k values, each <= --samples.") var k = "1,8"
  @Option(help: "Samples per problem (n).") var samples = 16
  @Option(help: "Held-out problems.") var problems = 200
  @Flag(help: "Print JSON.") var json = false
  @Flag(help: "With --json, include every sample.") var details = false

  func run() throws {
    var config = try options.runConfig()
    let ks = k.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !ks.isEmpty else { throw ValidationError("--k must list integers, got '\(k)'") }
    config.eval.ks = ks
    config.eval.samples = samples
    config.eval.problems = problems
    let dir = URL(fileURLWithPath: checkpoint)
    let (model, _) = try Checkpoint.loadModel(dir, backend: try options.makeBackend())
    if let saved = try? JSONDecoder().decode(RunConfig.self, from: Data(contentsOf: dir.appendingPathComponent("run.json"))),
       options.config == nil && options.edits.allSatisfy({ !$0.hasPrefix("task.") }) {
      config.task = saved.task  // evaluate on the task the checkpoint was trained on
    }
    let evaluator = try Evaluator(config: config.eval, task: try config.task.make())
    var report = try evaluator.evaluate(model)
    if json {
      if !details { report.details = [] }
      return try printJSON(report)
    }
    let pass = report.passAtK.sorted { Int($0.key.dropFirst(5))! < Int($1.key.dropFirst(5))! }
      .map { String(format: "%@ %.3f", $0.key, $0.value) }.joined(separator: "  ")
    print("\(report.task): \(report.problems) \(config.eval.split == "train" ? "train" : "held-out") problems x \(report.samples) samples: \(pass)  mean reward \(String(format: "%.3f", report.meanReward))")
  }
}
