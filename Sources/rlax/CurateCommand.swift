import ArgumentParser
import Foundation
import RlaxModel
import RlaxTasks
import RlaxReport
import RlaxTraining

/// `rlax curate`: RLAX's dataset curation. Each problem's pass rate under a policy (n samples,
/// c correct: the unbiased pass@1 c / n), and the problems whose rate lies in a band, written as
/// a JSON Lines dataset (`--set task.name=jsonl --set task.options={"path":...}` trains on it)
/// with their measured rates. Problems every sample solves, or none does, give group-relative
/// algorithms no signal; the band keeps the ones that do.
struct CurateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "curate", abstract: "Keep the problems whose pass rate under a checkpoint lies in a band; write them as JSONL.")

  @OptionGroup var options: RunOptions
  @Option(help: "The policy's checkpoint directory.") var checkpoint: String
  @Option(help: "A JSON Lines dataset to curate instead of the config's task.") var dataset: String?
  @Option(help: "Samples per problem (n).") var samples = 16
  @Option(help: "Problems to measure.") var problems = 200
  @Option(help: "The split to measure: train or heldOut.") var split = "train"
  @Option(help: "Keep problems with lo <= pass rate <= hi.") var band = "0.1,0.9"
  @Option(help: "Seed of the problem draw and of the sampling.") var seed: UInt64 = 1
  @Option(help: "The curated dataset to write (JSON Lines).") var out: String

  func run() throws {
    let bounds = band.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard bounds.count == 2, bounds[0] >= 0, bounds[1] <= 1, bounds[0] <= bounds[1] else {
      throw ValidationError("--band takes lo,hi with 0 <= lo <= hi <= 1, got '\(band)'")
    }
    guard split == "train" || split == "heldOut" else { throw ValidationError("--split is train or heldOut, got '\(split)'") }
    var config = try options.runConfig()
    if let dataset {
      config.task.name = "jsonl"
      config.task.options = ["path": dataset]
    }
    config.eval.split = split
    config.eval.samples = samples
    config.eval.problems = problems
    config.eval.ks = [1]
    config.eval.seed = seed
    let task = try config.task.make()
    let (model, _) = try Checkpoint.loadModel(URL(fileURLWithPath: checkpoint), backend: try options.makeBackend())
    let report = try Evaluator(config: config.eval, task: task).evaluate(model)
    // The evaluator draws the same problems in the same order.
    let drawn = task.problems(split: Split(rawValue: split) ?? .train, count: problems, seed: seed)
    guard drawn.map(\.prompt) == report.details.map(\.prompt) else { throw ValidationError("the task drew other problems than the evaluation") }
    let rates = report.details.map { Double($0.correct) / Double(report.samples) }
    var lines = Data()
    var kept = 0
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    for (problem, rate) in zip(drawn, rates) where rate >= bounds[0] && rate <= bounds[1] {
      lines.append(try encoder.encode(CuratedRecord(prompt: problem.prompt, answer: problem.answer, verifier: problem.verifier,
                                                   metadata: problem.metadata, passRate: rate, samples: report.samples)))
      lines.append(0x0A)
      kept += 1
    }
    try lines.write(to: URL(fileURLWithPath: out), options: .atomic)
    // Every measured rate, kept or not, for the histogram of `rlax report OUT`.
    let measured = CurationRates(band: bounds, samples: report.samples, checkpoint: checkpoint, rates: rates)
    try encoder.encode(measured).write(to: URL(fileURLWithPath: CurationRates.path(forDataset: out)), options: .atomic)
    print("\(report.task): \(rates.count) \(split) problems x \(report.samples) samples; kept \(kept) with pass rate in [\(bounds[0]), \(bounds[1])] -> \(out)")
    print(Self.histogram(rates))
  }

  /// Pass rates in ten bins, [0, 0.1) ... [0.9, 1], as text bars.
  static func histogram(_ rates: [Double]) -> String {
    let bins = CurationRates.bins(rates)
    let widest = max(bins.max() ?? 1, 1)
    return bins.enumerated().map { i, n in
      String(format: "  [%.1f, %.1f%@ %5d %@", Double(i) / 10, Double(i + 1) / 10, i == 9 ? "]" : ")", n,
             String(repeating: "#", count: n * 40 / widest))
    }.joined(separator: "\n")
  }
}

/// One line of a curated dataset: a JSONLDataset record, with the pass rate measured for it.
struct CuratedRecord: Codable {
  var prompt: String
  var answer: String
  var verifier: String?
  var metadata: [String: String]
  var passRate: Double
  var samples: Int
}
