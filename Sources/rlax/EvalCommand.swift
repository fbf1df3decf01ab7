import ArgumentParser
import Foundation
import RlaxConfig
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
    let runFile = dir.appendingPathComponent("run.json")
    if FileManager.default.fileExists(atPath: runFile.path), options.config == nil && options.edits.allSatisfy({ !$0.hasPrefix("task.") }) {
      // Evaluate on the task the checkpoint was trained on; a run.json that is there but does
      // not read is an error, not a silent fallback to the default task.
      let saved: RunConfig
      do {
        // Overlaid on today's defaults, so fields added since the run was written take them.
        let tree = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: runFile))
        saved = try ConfigTree.build(try ConfigTree.merge(try JSONValue.from(RunConfig.defaults()), tree), as: RunConfig.self)
      } catch {
        throw ValidationError("\(runFile.path): cannot read the checkpoint's run config (to evaluate on its task): \(error); "
                                + "pass the task with --set task.name=... or --config")
      }
      config.task = saved.task
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
