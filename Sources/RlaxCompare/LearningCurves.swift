import Foundation
import RlaxStats

/// One learning curve of an arm: at each step, the mean over seeds with a 95% t band
/// (``MeanBand``).
public struct LearningCurve: Codable, Sendable, Equatable {
  public var metric: String
  /// The step after which each value was measured (0: before RL).
  public var steps: [Int]
  public var mean: [Double]
  public var lower: [Double]
  public var upper: [Double]
}

/// Learning curves of a run or a comparison's arm, read from the run directories:
/// - every metric a run logs per step in metrics.jsonl (training reward and pass@1, loss,
///   gradient norm, ratio deviation, tokens/s, and the algorithm's own, such as `algorithm.kl`),
///   at the step's end (step s is logged as s + 1);
/// - held-out pass@k at checkpoints (`heldOut.pass@1`, ...): eval-before.json at 0, the steps
///   that eval.every chose, and eval-after.json at the last step.
public enum LearningCurves {
  /// The per-step metrics every run logs.
  static let metrics = ["rewardMean", "trainPassAt1", "loss", "gradNorm", "maxRatioDeviation", "samplerMismatch", "tokensPerSecond"]

  /// The curves over `runs` (one per seed), metric by metric; a metric some run lacks is left
  /// out, and each curve keeps the steps every run has.
  public static func curves(runs: [URL]) throws -> [LearningCurve] {
    let series = try runs.map { try read($0) }
    let names = series.map { Set($0.keys) }.reduce(series.first.map { Set($0.keys) } ?? []) { $0.intersection($1) }
    return try names.sorted().map { name in
      let common = series.map { Set($0[name]!.map(\.step)) }.reduce(Set(series[0][name]!.map(\.step))) { $0.intersection($1) }.sorted()
      guard !common.isEmpty else { return nil }
      let curves = series.map { s in
        let byStep = Dictionary(s[name]!.map { ($0.step, $0.value) }, uniquingKeysWith: { a, _ in a })
        return common.map { byStep[$0]! }
      }
      let band = try MeanBand(curves: curves)
      return LearningCurve(metric: name, steps: common, mean: band.mean, lower: band.lower, upper: band.upper)
    }.compactMap { $0 }
  }

  /// metric -> (step, value) in step order, from one run directory.
  static func read(_ run: URL) throws -> [String: [(step: Int, value: Double)]] {
    let file = run.appendingPathComponent("metrics.jsonl")
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw CompareError.missingResult(path: file.path) }
    var points: [String: [(step: Int, value: Double)]] = [:]
    var lastStep = 0
    for (number, line) in text.split(separator: "\n").enumerated() {
      guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = object["step"] as? Int else {
        throw CompareError.mismatched("\(file.path):\(number + 1) is not a metrics line")
      }
      var values: [String: Double] = [:]
      for m in metrics { if let v = object[m] as? Double, v.isFinite { values[m] = v } }
      for (k, v) in object["algorithm"] as? [String: Double] ?? [:] where v.isFinite { values["algorithm.\(k)"] = v }
      for (k, v) in object["heldOut"] as? [String: Double] ?? [:] where v.isFinite { values["heldOut.\(k)"] = v }
      for (name, v) in values { points[name, default: []].append((step + 1, v)) }
      lastStep = max(lastStep, step + 1)
    }
    for (file, step) in [("eval-before.json", 0), ("eval-after.json", lastStep)] {
      guard let data = try? Data(contentsOf: run.appendingPathComponent(file)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
      // eval-before.json is pass@k alone; eval-after.json is the whole report.
      let passAtK = object["passAtK"] as? [String: Double] ?? object as? [String: Double] ?? [:]
      for (k, v) in passAtK where v.isFinite { points["heldOut.\(k)", default: []].append((step, v)) }
    }
    return points.mapValues { $0.sorted { $0.step < $1.step } }
  }
}
