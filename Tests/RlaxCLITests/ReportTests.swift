import Foundation
import RlaxTestSupport
import XCTest

/// `rlax report`: the pages of a comparison, a run and a curated dataset, rendered by headless
/// Chromium (Debian's package, installed by .ci/setup): every plot is laid out and drawn, the
/// page logs no error, and it loads nothing from anywhere.
final class ReportTests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }

  func testReportsRenderInHeadlessChromiumWithEveryPlotDrawn() throws {
    let chromium = try XCTUnwrap(["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                 "headless Chromium is needed: bash .ci/setup installs Debian's chromium")
    let dir = try TestSupport.temporaryDirectory("report")
    let cmp = dir.appendingPathComponent("cmp")
    let compare = try TestSupport.run(rlax, ["compare", "--arm", "grpo", "--arm", "hot: --algo grpo --set rl.learningRate=0.05", "--seeds", "2",
                                             "--dir", cmp.path] + TestSupport.tinyRunFlags + ["--steps", "3", "--set", "eval.every=2"])
    XCTAssertEqual(compare.status, 0, compare.output)
    // compare writes the report itself; `rlax report` writes the same page again.
    let first = try String(contentsOf: cmp.appendingPathComponent("report.html"), encoding: .utf8)
    let again = try TestSupport.run(rlax, ["report", cmp.path])
    XCTAssertEqual(again.status, 0, again.output)
    XCTAssertEqual(try String(contentsOf: cmp.appendingPathComponent("report.html"), encoding: .utf8), first)
    let markdown = try String(contentsOf: cmp.appendingPathComponent("report.md"), encoding: .utf8)
    XCTAssertTrue(markdown.contains("| grpo (baseline) |") && markdown.contains("| hot | pass@1 |"), markdown)

    let run = cmp.appendingPathComponent("seed-1/grpo")
    let runReport = try TestSupport.run(rlax, ["report", run.path])
    XCTAssertEqual(runReport.status, 0, runReport.output)

    let dataset = dir.appendingPathComponent("curated.jsonl")
    let curate = try TestSupport.run(rlax, ["curate", "--checkpoint", run.appendingPathComponent("checkpoint").path, "--samples", "4",
                                            "--problems", "20", "--band", "0,1", "--out", dataset.path] + TestSupport.tinySetFlags)
    XCTAssertEqual(curate.status, 0, curate.output)
    let curateReport = try TestSupport.run(rlax, ["report", dataset.path])
    XCTAssertEqual(curateReport.status, 0, curateReport.output)

    // Comparison: pass@k against k, a difference plot per metric (pass@1, pass@2), and the
    // learning curves (held-out pass@1, reward, training pass@1, KL, loss, ratio, tokens/s).
    for (page, minimum) in [(cmp.appendingPathComponent("report.html"), 10), (run.appendingPathComponent("report.html"), 8),
                            (dir.appendingPathComponent("curated.report.html"), 1)] {
      let html = try String(contentsOf: page, encoding: .utf8)
      XCTAssertNil(html.range(of: #"(src|href)\s*="#, options: .regularExpression), "\(page.path) loads nothing")
      XCTAssertFalse(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"), "\(page.path) names no URL")
      let shown = try TestSupport.run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                                                 "--enable-logging=stderr", "--v=0", "--dump-dom", page.absoluteString])
      XCTAssertEqual(shown.status, 0, shown.output)
      let charts = try XCTUnwrap(Self.attribute("data-charts", in: shown.output), shown.output)
      let drawn = try XCTUnwrap(Self.attribute("data-charts-drawn", in: shown.output), "the page's script ran: \(shown.output.suffix(2000))")
      XCTAssertGreaterThanOrEqual(charts, minimum, page.path)
      XCTAssertEqual(drawn, charts, "\(page.path): every plot laid out with drawn marks")
      for line in shown.output.split(separator: "\n") where line.contains("CONSOLE") || line.contains("Uncaught") {
        XCTFail("\(page.path): the browser logged \(line)")
      }
    }
  }

  static func attribute(_ name: String, in dom: String) -> Int? {
    guard let r = dom.range(of: #"\#(name)="(\d+)""#, options: .regularExpression) else { return nil }
    return Int(dom[r].split(separator: "\"")[1])
  }
}
