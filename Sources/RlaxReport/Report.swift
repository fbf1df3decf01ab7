import Foundation
import Mustache
import RlaxCompare
import RlaxTasks
import RlaxTraining

/// `rlax report PATH`: a self-contained HTML page (plots as inline SVG) and a markdown
/// summary of a comparison, a run, or a curated dataset.
public enum Report {
  /// The curves a report plots, in order, with their titles.
  static let curveTitles: [(metric: String, title: String)] = [
    ("heldOut.pass@1", "held-out pass@1 at checkpoints"), ("rewardMean", "training reward"),
    ("trainPassAt1", "training pass@1"), ("algorithm.kl", "KL to the reference"), ("loss", "loss"),
    ("maxRatioDeviation", "max |log ratio| (old policy)"), ("algorithm.clip_fraction", "clip fraction"),
    ("tokensPerSecond", "tokens/s"),
  ]

  /// Writes `report.html` and `report.md` (into the directory, or beside a dataset) and
  /// returns their paths.
  @discardableResult
  public static func write(for path: URL) throws -> (html: URL, markdown: URL) {
    let page = try page(for: path)
    var isDirectory: ObjCBool = false
    FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory)
    let base = isDirectory.boolValue ? path.appendingPathComponent("report") : path.deletingPathExtension().appendingPathExtension("report")
    let html = base.appendingPathExtension("html"), markdown = base.appendingPathExtension("md")
    do {
      try render(page, ReportTemplates.html).write(to: html, atomically: true, encoding: .utf8)
      try render(page, ReportTemplates.markdown).write(to: markdown, atomically: true, encoding: .utf8)
    } catch {
      throw ReportError.unreadable(path: html.path, reason: "cannot write the report: \(error.localizedDescription)")
    }
    return (html, markdown)
  }

  static func render(_ page: ReportPage, _ template: String) throws -> String {
    try MustacheTemplate(string: template).render(page.context)
  }

  static func page(for path: URL) throws -> ReportPage {
    let fm = FileManager.default
    if fm.fileExists(atPath: path.appendingPathComponent("comparison.json").path) { return try comparisonPage(path) }
    if fm.fileExists(atPath: path.appendingPathComponent("metrics.jsonl").path) { return try runPage(path) }
    if path.pathExtension == "jsonl", fm.fileExists(atPath: CurationRates.path(forDataset: path.path)) { return try curationPage(path) }
    throw ReportError.notAReport(path: path.path)
  }

  static func decode<T: Decodable>(_ type: T.Type, _ file: URL) throws -> T {
    guard let data = FileManager.default.contents(atPath: file.path) else { throw ReportError.unreadable(path: file.path, reason: "missing") }
    do { return try JSONDecoder().decode(type, from: data) } catch {
      throw ReportError.unreadable(path: file.path, reason: "not what rlax writes there: \(error)")
    }
  }

  static func f(_ x: Double) -> String { String(format: "%.3f", x) }
  static func signed(_ x: Double) -> String { String(format: "%+.3f", x) }

  /// Mean unbiased pass@k over problems (and over `reports`) for k = 1...n.
  static func passAtKCurve(_ reports: [Evaluator.Report]) -> (k: [Double], value: [Double]) {
    let n = reports.map(\.samples).min() ?? 1
    let ks = Array(1...max(n, 1))
    let values = ks.map { k in
      reports.map { r in PassAtK.mean(n: r.samples, correct: r.details.map(\.correct), k: k) }.reduce(0, +) / Double(reports.count)
    }
    return (ks.map(Double.init), values)
  }

  /// One line chart per curve metric, a series per name that has it.
  static func curveCharts(_ curves: [(name: String, curves: [LearningCurve])]) -> [String] {
    curveTitles.compactMap { metric, title in
      let series = curves.compactMap { arm -> LineChart.Series? in
        guard let c = arm.curves.first(where: { $0.metric == metric }) else { return nil }
        return .init(name: arm.name, x: c.steps.map(Double.init), y: c.mean, lower: c.lower, upper: c.upper)
      }
      guard !series.isEmpty else { return nil }
      return LineChart(title: title, xLabel: "RL step", yLabel: metric, series: series).svg()
    }
  }

  static func comparisonPage(_ dir: URL) throws -> ReportPage {
    let result = try decode(RlaxCompare.ComparisonResult.self, dir.appendingPathComponent("comparison.json"))
    let plan = try decode(ComparisonPlan.self, dir.appendingPathComponent("plan.json"))
    let level = Int((result.level * 100).rounded())
    let metrics = result.arms[result.baseline]?.map(\.metric) ?? []
    var sections: [ReportPage.Section] = []

    var held = ReportPage.Section(heading: "Held-out pass@k per arm")
    held.text = ["Mean over \(result.seeds.count) seeds and \(result.problems) problems x \(result.samples) samples, with \(level)% intervals from a two-stage bootstrap (seeds, then problems)."]
    held.tables = [.init(headers: ["arm"] + metrics, rows: plan.arms.map { arm in
      [arm.name + (arm.name == result.baseline ? " (baseline)" : "")]
        + (result.arms[arm.name] ?? []).map { "\(f($0.mean)) [\(f($0.lower)), \(f($0.upper))]" }
    })]
    var passCurves: [LineChart.Series] = []
    for arm in plan.arms {
      let reports = try plan.seeds.map { try decode(Evaluator.Report.self, ComparisonPlan.runDirectory(dir, seed: $0, arm: arm.name).appendingPathComponent("eval-after.json")) }
      let curve = passAtKCurve(reports)
      passCurves.append(.init(name: arm.name, x: curve.k, y: curve.value))
    }
    held.charts = [LineChart(title: "pass@k against k (after RL)", xLabel: "k", yLabel: "pass@k", series: passCurves, markers: true).svg()]
    sections.append(held)

    var diff = ReportPage.Section(heading: "Each arm against \(result.baseline)")
    let significant = result.differences.filter(\.significant)
    diff.text = [
      "Paired difference of means with its \(level)% paired bootstrap interval; p: paired permutation test over (seed, problem) pairs, Holm-corrected across arms per metric (significant at alpha = \(result.alpha)); p (seeds): exact sign-flip test over the seeds' mean differences, whose smallest possible value is \(f(2 / pow(2, Double(result.seeds.count)))) with \(result.seeds.count) seeds. Filled dots are significant by the pair-level test.",
      significant.isEmpty ? "No difference is significant."
        : "Significant (pair-level, Holm): " + significant.map { "\($0.arm) \($0.metric) \(signed($0.difference))" }.joined(separator: "; ") + ".",
    ]
    diff.tables = [.init(headers: ["arm - \(result.baseline)", "metric", "difference [\(level)% CI]", "p", "p (Holm)", "significant", "p (seeds)"],
                         rows: result.differences.map { d in
                           [d.arm, d.metric, "\(signed(d.difference)) [\(signed(d.lower)), \(signed(d.upper))]",
                            String(format: "%.4f", d.pValue) + (d.exact ? "" : " (MC)"), String(format: "%.4f", d.pHolm),
                            d.significant ? "yes" : "no", String(format: "%.3f", d.pSeeds)]
                         })]
    diff.charts = metrics.map { metric in
      IntervalChart(title: "\(metric): arm - \(result.baseline)", xLabel: "difference in \(metric)",
                    rows: result.differences.filter { $0.metric == metric }.map {
                      .init(label: $0.arm, value: $0.difference, lower: $0.lower, upper: $0.upper, significant: $0.significant)
                    }).svg()
    }
    sections.append(diff)

    var curves = ReportPage.Section(heading: "Learning curves")
    curves.text = ["Mean over seeds at every step, with a 95% Student-t band where the plot has at most 4 arms (comparison.json holds every band). Held-out pass@1 at checkpoints: before RL (0), every eval.every steps, and after the last step."]
    curves.charts = curveCharts(plan.arms.map { ($0.name, result.curves[$0.name] ?? []) })
    sections.append(curves)

    return ReportPage(title: "Comparison: \(plan.arms.map(\.name).joined(separator: ", "))",
                      summary: ["\(plan.arms.count) arms x \(result.seeds.count) seeds (\(result.seeds.map(String.init).joined(separator: ", "))); baseline \(result.baseline); flags for every run: \(plan.commonFlags.joined(separator: " "))"],
                      sections: sections)
  }

  static func runPage(_ dir: URL) throws -> ReportPage {
    var sections: [ReportPage.Section] = []
    let summaryFile = dir.appendingPathComponent("summary.json")
    var summaryLines = ["Run directory \(dir.path)"]
    if let data = FileManager.default.contents(atPath: summaryFile.path),
       let s = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
      let eval = s["eval"] as? [String: [String: Double]] ?? [:]
      summaryLines = ["\(s["algorithm"] ?? "?") on \(s["backend"] ?? "?"): \(s["steps"] ?? "?") steps, seed \(s["seed"] ?? "?"), k = \(s["max_staleness"] ?? "?"), weights sha256 \(s["weights_sha256"] ?? "?")"]
      var table = ReportPage.Section(heading: "Held-out evaluation")
      let keys = Set((eval["before"] ?? [:]).keys).union((eval["after"] ?? [:]).keys).sorted { Int($0.dropFirst(5)) ?? 0 < Int($1.dropFirst(5)) ?? 0 }
      table.tables = [.init(headers: ["metric", "before RL", "after RL"], rows: keys.map { [$0, eval["before"]?[$0].map(f) ?? "-", eval["after"]?[$0].map(f) ?? "-"] })]
      if let after = try? decode(Evaluator.Report.self, dir.appendingPathComponent("eval-after.json")) {
        let curve = passAtKCurve([after])
        table.charts = [LineChart(title: "pass@k against k (after RL)", xLabel: "k", yLabel: "pass@k", series: [.init(name: "after", x: curve.k, y: curve.value)], markers: true).svg()]
      }
      sections.append(table)
    }
    var curves = ReportPage.Section(heading: "Learning curves")
    curves.charts = curveCharts([(dir.lastPathComponent, try LearningCurves.curves(runs: [dir]))])
    sections.append(curves)
    return ReportPage(title: "Run \(dir.lastPathComponent)", summary: summaryLines, sections: sections)
  }

  static func curationPage(_ dataset: URL) throws -> ReportPage {
    let measured = try decode(CurationRates.self, URL(fileURLWithPath: CurationRates.path(forDataset: dataset.path)))
    let bins = CurationRates.bins(measured.rates)
    let kept = measured.rates.filter { $0 >= measured.band[0] && $0 <= measured.band[1] }.count
    var section = ReportPage.Section(heading: "Pass rates under the policy")
    section.text = ["\(measured.rates.count) problems x \(measured.samples) samples under \(measured.checkpoint); \(kept) kept with pass rate in [\(measured.band[0]), \(measured.band[1])] (shaded)."]
    section.tables = [.init(headers: ["pass rate", "problems"], rows: bins.enumerated().map { i, n in
      [String(format: "[%.1f, %.1f%@", Double(i) / 10, Double(i + 1) / 10, i == 9 ? "]" : ")"), String(n)]
    })]
    section.charts = [HistogramChart(title: "pass rates", xLabel: "pass rate", counts: bins, band: (measured.band[0], measured.band[1])).svg()]
    return ReportPage(title: "Curated dataset \(dataset.lastPathComponent)", summary: [], sections: [section])
  }
}
