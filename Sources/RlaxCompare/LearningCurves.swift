import Foundation
import RlaxStats

/// Learning curves of a comparison's arms: for each metric a run logs per step in
/// metrics.jsonl (training reward and pass@1, loss, gradient norm, ratio deviation, tokens/s,
/// and the algorithm's own, such as `algorithm.kl`), the mean over seeds at every step with a
/// 95% t band (``MeanBand``).
public struct LearningCurve: Codable, Sendable, Equatable {
  public var metric: String
  public var mean: [Double]
  public var lower: [Double]
  public var upper: [Double]
}

public enum LearningCurves {
  /// The per-step metrics every run logs.
  static let metrics = ["rewardMean", "trainPassAt1", "loss", "gradNorm", "maxRatioDeviation", "samplerMismatch", "tokensPerSecond"]

  /// The curves of `arm` over its seeds' runs, metric by metric; a metric some run lacks is left out.
  public static func curves(runs: [URL]) throws -> [LearningCurve] {
    let series = try runs.map { try read($0.appendingPathComponent("metrics.jsonl")) }
    let names = series.map { Set($0.keys) }.reduce(series.first.map { Set($0.keys) } ?? []) { $0.intersection($1) }
    return try names.sorted().map { name in
      let band = try MeanBand(curves: series.map { $0[name]! })
      return LearningCurve(metric: name, mean: band.mean, lower: band.lower, upper: band.upper)
    }
  }

  /// metric -> values in step order, from one run's metrics.jsonl.
  static func read(_ file: URL) throws -> [String: [Double]] {
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw CompareError.missingResult(path: file.path) }
    var rows: [(Int, [String: Double])] = []
    for (number, line) in text.split(separator: "\n").enumerated() {
      guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = object["step"] as? Int else {
        throw CompareError.mismatched("\(file.path):\(number + 1) is not a metrics line")
      }
      var values: [String: Double] = [:]
      for m in metrics { if let v = object[m] as? Double, v.isFinite { values[m] = v } }
      for (k, v) in object["algorithm"] as? [String: Double] ?? [:] where v.isFinite { values["algorithm.\(k)"] = v }
      rows.append((step, values))
    }
    rows.sort { $0.0 < $1.0 }
    let names = rows.map { Set($0.1.keys) }.reduce(rows.first.map { Set($0.1.keys) } ?? []) { $0.intersection($1) }
    return Dictionary(uniqueKeysWithValues: names.map { n in (n, rows.map { $0.1[n]! }) })
  }
}
