import Foundation

/// The comparison as a markdown summary: each arm's held-out pass@k with its interval, and
/// each arm against the baseline.
public enum ComparisonMarkdown {
  public static func render(_ r: ComparisonResult, plan: ComparisonPlan) -> String {
    let level = Int((r.level * 100).rounded())
    let metrics = r.arms[r.baseline]?.map(\.metric) ?? []
    func f(_ x: Double) -> String { String(format: "%.3f", x) }
    var out = """
      # Comparison

      \(plan.arms.count) arms x \(r.seeds.count) seeds (\(r.seeds.map(String.init).joined(separator: ", "))); held-out \
      \(r.problems) problems x \(r.samples) samples, the same for every run. Baseline: \(r.baseline). Intervals: \(level)% \
      bootstrap over seeds and problems; p: paired permutation test over (seed, problem) pairs, Holm-corrected across \
      arms per metric, significant at alpha = \(r.alpha) (it treats the pairs of one seed as independent: it asks about \
      these problems, not about training runs); p (seeds): the exact sign-flip test over the seeds' mean differences \
      (its smallest possible value is 2 / 2^seeds).

      | arm | \(metrics.joined(separator: " | ")) |
      |---|\(metrics.map { _ in "---|" }.joined())

      """
    for arm in plan.arms {
      let cells = (r.arms[arm.name] ?? []).map { "\(f($0.mean)) [\(f($0.lower)), \(f($0.upper))]" }
      out += "| \(arm.name)\(arm.name == r.baseline ? " (baseline)" : "") | \(cells.joined(separator: " | ")) |\n"
    }
    if !r.differences.isEmpty {
      out += """

        | arm - \(r.baseline) | metric | difference [\(level)% CI] | p | p (Holm) | significant | p (seeds) |
        |---|---|---|---|---|---|---|

        """
      for d in r.differences {
        out += "| \(d.arm) | \(d.metric) | \(f(d.difference)) [\(f(d.lower)), \(f(d.upper))] | \(String(format: "%.4f", d.pValue))\(d.exact ? "" : " (MC)") | "
          + "\(String(format: "%.4f", d.pHolm)) | \(d.significant ? "yes" : "no") | \(String(format: "%.3f", d.pSeeds)) |\n"
      }
    }
    return out
  }
}
