import ArgumentParser
import Foundation
import RlaxReport

/// `rlax report PATH`: the HTML page (inline SVG plots, viewable offline) and markdown summary
/// of a comparison directory, a run directory, or a curated dataset.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Write report.html (plots as inline SVG) and report.md for a comparison, a run, or a curated dataset.")

  @Argument(help: "A comparison directory (rlax compare --dir), a run directory, or a curated dataset (rlax curate --out).")
  var path: String

  func run() throws {
    let written = try Report.write(for: URL(fileURLWithPath: path))
    print("wrote \(written.html.path), \(written.markdown.path)")
  }
}
