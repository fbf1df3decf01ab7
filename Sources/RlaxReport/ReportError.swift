/// Why a report could not be made, naming the file.
public enum ReportError: Error, CustomStringConvertible {
  case notAReport(path: String)
  case unreadable(path: String, reason: String)

  public var description: String {
    switch self {
    case .notAReport(let path):
      return "\(path): not a comparison directory (comparison.json), a run directory (metrics.jsonl) or a curated dataset (.jsonl with its .rates.json)"
    case .unreadable(let path, let reason):
      return "\(path): \(reason)"
    }
  }
}
