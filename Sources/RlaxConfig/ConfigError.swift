/// What can be wrong with a config; each case names the path (`model.decoder.numLayers`).
public enum ConfigError: Error, CustomStringConvertible, Equatable {
  case required(path: String, hint: String)
  case invalid(path: String, reason: String)
  case unknownPath(path: String, known: [String])
  case typeMismatch(path: String, expected: String, found: String)
  case badEdit(edit: String, reason: String)
  case file(path: String, reason: String)

  public var description: String {
    switch self {
    case .required(let path, let hint): "config: \(path) is required (\(hint))"
    case .invalid(let path, let reason): "config: \(path): \(reason)"
    case .unknownPath(let path, let known): "config: no field \(path); fields there: \(known.joined(separator: ", "))"
    case .typeMismatch(let path, let expected, let found): "config: \(path) expects \(expected), got \(found)"
    case .badEdit(let edit, let reason): "config: --set \(edit): \(reason)"
    case .file(let path, let reason): "config file \(path): \(reason)"
    }
  }
}

/// A config that can check itself before anything is built.
public protocol ValidatableConfig {
  /// Throws `ConfigError` naming the first bad field, with `path` as the prefix.
  func validate(path: String) throws
}

/// Helpers for `validate(path:)` implementations.
public func require(_ condition: Bool, _ path: String, _ reason: @autoclosure () -> String) throws {
  if !condition { throw ConfigError.invalid(path: path, reason: reason()) }
}
