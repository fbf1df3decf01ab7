import Foundation

/// A one-line progress bar on standard error, redrawn in place on a terminal and printed
/// every `plainEvery` updates otherwise (logs stay readable). Silent when `quiet`.
///
/// Writing it is best effort: when standard error cannot be written (a full disk under a
/// redirected log, a closed pipe) the line is dropped. (`FileHandle.write(_:)` would trap
/// instead, ending a run over a progress line.)
public struct ProgressBar {
  public let total: Int
  public let label: String
  public let quiet: Bool
  let isTerminal = isatty(STDERR_FILENO) != 0
  let start = Date()
  let plainEvery: Int

  public init(total: Int, label: String, quiet: Bool = false) {
    self.total = total
    self.label = label
    self.quiet = quiet
    plainEvery = max(total / 10, 1)
  }

  public func update(_ done: Int, _ fields: String) {
    guard !quiet, isTerminal || done % plainEvery == 0 || done == total else { return }
    let width = 24, filled = total == 0 ? width : width * done / total
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    let elapsed = Date().timeIntervalSince(start)
    let line = String(format: "%@ [%@] %d/%d %@ (%.0fs)", label, bar, done, total, fields, elapsed)
    try? FileHandle.standardError.write(contentsOf: Data(((isTerminal ? "\r" : "") + line + (isTerminal && done < total ? "" : "\n")).utf8))
  }
}
