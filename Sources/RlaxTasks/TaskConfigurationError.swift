import Foundation

/// A task, option or verifier that cannot be built as asked. Each message names what was given
/// and what would have been accepted, so a CLI can print it as is.
public enum TaskConfigurationError: Error, Equatable, CustomStringConvertible, LocalizedError {
  /// No task of this name; `known` lists the names that exist.
  case unknownTask(String, known: [String])
  /// `task` has no option `option`; `known` lists the options it takes.
  case unknownOption(task: String, option: String, known: [String])
  /// A required option was not given.
  case missingOption(task: String, option: String)
  /// An option's value is unusable; `reason` says what is expected.
  case invalidOption(task: String, option: String, value: String, reason: String)
  /// No verifier of this name; `known` lists the names that exist.
  case unknownVerifier(String, known: [String])

  /// A one-line explanation, e.g. `unknown task "sudoku"; known tasks: arithmetic, countdown, jsonl`.
  public var description: String {
    switch self {
    case .unknownTask(let name, let known):
      return "unknown task \(name.debugDescription); known tasks: \(known.joined(separator: ", "))"
    case .unknownOption(let task, let option, let known):
      let options = known.isEmpty ? "none" : known.joined(separator: ", ")
      return "task \(task.debugDescription) has no option \(option.debugDescription); its options: \(options)"
    case .missingOption(let task, let option):
      return "task \(task.debugDescription) needs option \(option.debugDescription)"
    case .invalidOption(let task, let option, let value, let reason):
      return "task \(task.debugDescription): option \(option)=\(value.debugDescription): \(reason)"
    case .unknownVerifier(let name, let known):
      return "unknown verifier \(name.debugDescription); known verifiers: \(known.joined(separator: ", "))"
    }
  }

  /// Same as `description`, so `localizedDescription` is informative too.
  public var errorDescription: String? { description }
}
