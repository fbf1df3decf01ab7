import Foundation
import RlaxStats
import RlaxTasks
import RlaxTraining

/// The statistics of a finished comparison, from each run's held-out evaluation problem by
/// problem (RUN_DIR/eval-after.json):
/// - per arm and metric (pass@k, unbiased), the mean over seeds and problems with a 95%
///   interval from a two-stage bootstrap (seeds, then problems within a seed);
/// - per arm against the baseline, the paired difference with its bootstrap interval and the
///   p-value of a paired permutation test over (seed, problem) pairs, Holm-corrected across
///   the arms for each metric.
public struct ComparisonResult: Codable, Sendable {
  public struct ArmMetric: Codable, Sendable {
    public var metric: String
    public var mean: Double
    public var lower: Double
    public var upper: Double
    /// The mean of each seed's run, in plan order.
    public var perSeed: [Double]
  }

  public struct Difference: Codable, Sendable {
    public var arm: String
    public var metric: String
    /// mean(arm) - mean(baseline), with its paired bootstrap interval.
    public var difference: Double
    public var lower: Double
    public var upper: Double
    /// The permutation test over (seed, problem) pairs: it asks whether the arms differ on
    /// these problems, and treats pairs of one seed as independent, so it does not see a
    /// whole run's luck.
    public var pValue: Double
    public var pHolm: Double
    public var exact: Bool
    public var significant: Bool
    /// The exact sign-flip test over seeds (each seed's mean difference): whether the arms
    /// differ across training runs. With S seeds it cannot go below 2 / 2^S (0.25 for 3).
    public var pSeeds: Double
  }

  public var baseline: String
  public var seeds: [UInt64]
  public var problems: Int
  public var samples: Int
  public var level: Double
  public var alpha: Double
  public var arms: [String: [ArmMetric]]
  public var differences: [Difference]
  /// arm -> its learning curves (mean over seeds with a 95% band).
  public var curves: [String: [LearningCurve]]
}

public enum ComparisonAnalysis {
  /// Reads every run's evaluation and computes the statistics; `seed` fixes the resampling.
  public static func analyze(_ plan: ComparisonPlan, dir: URL, level: Double = 0.95, alpha: Double = 0.05, resamples: Int = 10_000,
                             seed: UInt64 = 1) throws -> ComparisonResult {
    var reports: [String: [Evaluator.Report]] = [:]
    for arm in plan.arms {
      reports[arm.name] = try plan.seeds.map { s in
        let file = ComparisonPlan.runDirectory(dir, seed: s, arm: arm.name).appendingPathComponent("eval-after.json")
        guard let data = FileManager.default.contents(atPath: file.path) else { throw CompareError.missingResult(path: file.path) }
        return try JSONDecoder().decode(Evaluator.Report.self, from: data)
      }
    }
    let first = reports[plan.baseline]![0]
    let prompts = first.details.map(\.prompt)
    for (name, runs) in reports {
      for (i, r) in runs.enumerated() where r.details.map(\.prompt) != prompts || r.samples != first.samples {
        throw CompareError.mismatched("\(name) at seed \(plan.seeds[i]) was evaluated on other problems or with another sample count than \(plan.baseline)")
      }
    }
    let ks = first.passAtK.keys.compactMap { Int($0.dropFirst("pass@".count)) }.sorted()
    let metrics = ks.map { "pass@\($0)" }
    /// values[arm][metric] = [seed][problem] of unbiased pass@k.
    func values(_ arm: String, _ k: Int) -> [[Double]] {
      reports[arm]!.map { r in r.details.map { PassAtK.unbiased(n: r.samples, c: $0.correct, k: k) } }
    }
    var arms: [String: [ComparisonResult.ArmMetric]] = [:]
    for arm in plan.arms {
      arms[arm.name] = try zip(ks, metrics).map { k, metric in
        let v = values(arm.name, k)
        let interval = try Bootstrap.meanInterval(v, level: level, resamples: resamples, seed: seed)
        return .init(metric: metric, mean: interval.estimate, lower: interval.lower, upper: interval.upper,
                     perSeed: v.map { $0.reduce(0, +) / Double(max($0.count, 1)) })
      }
    }
    var differences: [ComparisonResult.Difference] = []
    let others = plan.arms.map(\.name).filter { $0 != plan.baseline }
    for (k, metric) in zip(ks, metrics) {
      let base = values(plan.baseline, k)
      var rows: [ComparisonResult.Difference] = []
      for arm in others {
        let v = values(arm, k)
        let interval = try Bootstrap.pairedDifferenceInterval(a: v, b: base, level: level, resamples: resamples, seed: seed)
        let paired = zip(v.joined(), base.joined()).map { $0 - $1 }
        let test = try PermutationTest.signFlip(paired, resamples: resamples, seed: seed)
        let perSeed = zip(v, base).map { a, b in zip(a, b).reduce(0) { $0 + $1.0 - $1.1 } / Double(max(a.count, 1)) }
        let seeds = try PermutationTest.signFlip(perSeed, resamples: resamples, seed: seed)
        rows.append(.init(arm: arm, metric: metric, difference: interval.estimate, lower: interval.lower, upper: interval.upper,
                          pValue: test.pValue, pHolm: test.pValue, exact: test.exact, significant: false, pSeeds: seeds.pValue))
      }
      if !rows.isEmpty {
        let holm = try Holm(rows.map(\.pValue))
        let rejected = holm.rejected(alpha: alpha)
        for i in rows.indices {
          rows[i].pHolm = holm.adjusted[i]
          rows[i].significant = rejected[i]
        }
      }
      differences += rows
    }
    var curves: [String: [LearningCurve]] = [:]
    for arm in plan.arms {
      curves[arm.name] = try LearningCurves.curves(runs: plan.seeds.map { ComparisonPlan.runDirectory(dir, seed: $0, arm: arm.name) })
    }
    return ComparisonResult(baseline: plan.baseline, seeds: plan.seeds, problems: prompts.count, samples: first.samples, level: level,
                            alpha: alpha, arms: arms, differences: differences, curves: curves)
  }
}
