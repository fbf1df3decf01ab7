import Foundation

/// Input a statistic cannot be computed from, described as what was expected and what was
/// found at a named place, so `rlax compare` can print it as is:
/// `b[1]: expected 40 problems (as in a[1]), found 38`.
public struct StatsInputError: Error, Equatable, CustomStringConvertible, LocalizedError {
  /// Where the problem is: a parameter (`level`) or a position in the data (`data[0][3]`).
  public let subject: String
  /// What would have been accepted.
  public let expected: String
  /// What was given instead.
  public let found: String

  /// Creates an error; see the properties.
  public init(subject: String, expected: String, found: String) {
    self.subject = subject
    self.expected = expected
    self.found = found
  }

  /// `subject: expected ..., found ...`.
  public var description: String { "\(subject): expected \(expected), found \(found)" }

  /// Same as `description`, so `localizedDescription` is informative too.
  public var errorDescription: String? { description }
}

/// Checks shared by the statistics: each throws a ``StatsInputError`` naming the first bad item.
enum Validate {
  /// `values` has at least one element; `unit` names one element ("seed").
  static func nonEmpty<T>(_ values: [T], _ subject: String, unit: String) throws {
    if values.isEmpty { throw StatsInputError(subject: subject, expected: "at least one \(unit)", found: "none") }
  }

  /// Every value is finite: a NaN or infinity would silently poison every mean it enters.
  static func finite(_ values: [Double], _ subject: String) throws {
    if let index = values.firstIndex(where: { !$0.isFinite }) {
      throw StatsInputError(subject: "\(subject)[\(index)]", expected: "a finite value", found: "\(values[index])")
    }
  }

  /// A non-empty table of non-empty, finite rows (`data[seed][problem]`).
  static func table(_ rows: [[Double]], _ subject: String, rowUnit: String, columnUnit: String) throws {
    try nonEmpty(rows, subject, unit: rowUnit)
    for (index, row) in rows.enumerated() {
      try nonEmpty(row, "\(subject)[\(index)]", unit: columnUnit)
      try finite(row, "\(subject)[\(index)]")
    }
  }

  /// A confidence level strictly between 0 and 1.
  static func level(_ level: Double) throws {
    if !(level > 0 && level < 1) {
      throw StatsInputError(subject: "level", expected: "a value strictly between 0 and 1", found: "\(level)")
    }
  }

  /// A positive number of resamples.
  static func resamples(_ resamples: Int) throws {
    if resamples < 1 { throw StatsInputError(subject: "resamples", expected: "at least 1", found: "\(resamples)") }
  }
}
