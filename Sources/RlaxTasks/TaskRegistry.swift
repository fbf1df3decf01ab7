/// Builds tasks from the strings a command line carries, e.g.
/// `--task countdown --task-opt count=4` becomes
/// `TaskRegistry.make(name: "countdown", options: ["count": "4"])`.
///
/// Tasks and their options (defaults in brackets):
/// - `arithmetic`: `minDigits` [1], `maxDigits` [3], `ops` (any of `+-*`) [+],
///   `allowNegative` (true/false) [false]
/// - `countdown`: `count` [4], `maxNumber` [50], `maxTarget` [100]
/// - `jsonl`: `path` (required)
public enum TaskRegistry {
  /// One option a task accepts, for help output.
  public struct Option: Equatable, Sendable {
    /// The key in `options`, e.g. `"maxDigits"`.
    public let name: String
    /// What it controls and which values it takes.
    public let summary: String
    /// The value used when the option is absent; nil for required options.
    public let defaultValue: String?
  }

  /// The task names `make` accepts, sorted.
  public static let names = ["arithmetic", "countdown", "jsonl"]

  /// The options `name` accepts.
  /// - Throws: ``TaskConfigurationError/unknownTask(_:known:)``.
  public static func options(for name: String) throws -> [Option] {
    switch name {
    case "arithmetic":
      return [
        Option(name: "minDigits", summary: "fewest digits per operand (1...\(ArithmeticTask.maxSupportedDigits))", defaultValue: "1"),
        Option(name: "maxDigits", summary: "most digits per operand (minDigits...\(ArithmeticTask.maxSupportedDigits))", defaultValue: "3"),
        Option(name: "ops", summary: "operations to use, any of + - * (e.g. +-)", defaultValue: "+"),
        Option(name: "allowNegative", summary: "whether a-b may be negative (true/false)", defaultValue: "false"),
        Option(name: "reverseAnswer", summary: "write answers least-significant digit first (true/false)", defaultValue: "false"),
      ]
    case "countdown":
      let counts = CountdownTask.supportedCounts
      return [
        Option(name: "count", summary: "numbers per problem (\(counts.lowerBound)...\(counts.upperBound))", defaultValue: "4"),
        Option(name: "maxNumber", summary: "numbers are drawn from 1...maxNumber", defaultValue: "50"),
        Option(name: "maxTarget", summary: "targets lie in 1...maxTarget", defaultValue: "100"),
      ]
    case "jsonl":
      return [Option(name: "path", summary: "the JSON Lines file to load", defaultValue: nil)]
    default:
      throw TaskConfigurationError.unknownTask(name, known: names)
    }
  }

  /// Builds the task `name` configured by `options` (values as strings; absent options take
  /// their defaults).
  /// - Throws: ``TaskConfigurationError`` for an unknown task, an option the task does not take
  ///   (listing the ones it does), a missing required option, or an unusable value;
  ///   ``JSONLDatasetError`` when the `jsonl` file cannot be loaded.
  public static func make(name: String, options: [String: String] = [:]) throws -> any VerifiableTask {
    let known = try self.options(for: name)
    // Sorted so that with several bad options the error is the same on every run.
    for key in options.keys.sorted() where !known.contains(where: { $0.name == key }) {
      throw TaskConfigurationError.unknownOption(task: name, option: key, known: known.map(\.name))
    }
    let values = OptionValues(task: name, given: options)
    switch name {
    case "arithmetic":
      return try ArithmeticTask(
        minDigits: values.int("minDigits", default: 1),
        maxDigits: values.int("maxDigits", default: 3),
        operations: values.operations("ops", default: [.add]),
        allowNegative: values.bool("allowNegative", default: false),
        reverseAnswer: values.bool("reverseAnswer", default: false))
    case "countdown":
      return try CountdownTask(
        count: values.int("count", default: 4),
        maxNumber: values.int("maxNumber", default: 50),
        maxTarget: values.int("maxTarget", default: 100))
    default:  // "jsonl"; options(for:) has rejected every other name
      return try JSONLDataset.load(path: values.required("path"))
    }
  }
}

/// Typed reads of string options, with errors that name the task, option and value.
private struct OptionValues {
  let task: String
  let given: [String: String]

  func required(_ option: String) throws -> String {
    guard let value = given[option] else { throw TaskConfigurationError.missingOption(task: task, option: option) }
    return value
  }

  func int(_ option: String, default fallback: Int) throws -> Int {
    guard let text = given[option] else { return fallback }
    guard let value = Int(text) else { throw invalid(option, text, "expected an integer") }
    return value
  }

  func bool(_ option: String, default fallback: Bool) throws -> Bool {
    guard let text = given[option] else { return fallback }
    switch text.lowercased() {
    case "true", "1", "yes": return true
    case "false", "0", "no": return false
    default: throw invalid(option, text, "expected true or false")
    }
  }

  func operations(_ option: String, default fallback: Set<ArithmeticTask.Operation>) throws -> Set<ArithmeticTask.Operation> {
    guard let text = given[option] else { return fallback }
    var operations: Set<ArithmeticTask.Operation> = []
    for symbol in text {
      guard let operation = ArithmeticTask.Operation(rawValue: String(symbol)) else {
        throw invalid(option, text, "expected some of + - * (\(String(symbol).debugDescription) is not one)")
      }
      operations.insert(operation)
    }
    guard !operations.isEmpty else { throw invalid(option, text, "expected at least one of + - *") }
    return operations
  }

  private func invalid(_ option: String, _ value: String, _ reason: String) -> TaskConfigurationError {
    .invalidOption(task: task, option: option, value: value, reason: reason)
  }
}
