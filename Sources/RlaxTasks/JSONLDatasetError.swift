import Foundation

/// A JSONL dataset that cannot be loaded, located as precisely as possible so the message reads
/// like a compiler diagnostic: `data.jsonl:7: field "answer": expected a string, found number`.
public struct JSONLDatasetError: Error, Equatable, CustomStringConvertible, LocalizedError {
  /// The path as given to the loader.
  public let file: String
  /// 1-based line number, or nil for problems with the whole file (unreadable, empty).
  public let line: Int?
  /// The record field at fault, or nil when the line as a whole is bad (not JSON, not an object).
  public let field: String?
  /// What was expected and what was found.
  public let reason: String

  /// Creates an error; see the properties.
  public init(file: String, line: Int?, field: String?, reason: String) {
    self.file = file
    self.line = line
    self.field = field
    self.reason = reason
  }

  /// `file:line: field "name": reason`, omitting the parts that are nil.
  public var description: String {
    var text = file
    if let line { text += ":\(line)" }
    text += ": "
    if let field { text += "field \"\(field)\": " }
    return text + reason
  }

  /// Same as `description`, so `localizedDescription` is informative too.
  public var errorDescription: String? { description }
}
