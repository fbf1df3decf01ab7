import Foundation

/// A fixed set of problems read from a JSON Lines file, usable as a ``VerifiableTask``.
///
/// Each non-blank line is one JSON object:
///
///     {"prompt": "What is 6*7? ", "answer": "42", "verifier": "numeric"}
///
/// - `prompt` (string, required, non-empty): what the model sees.
/// - `answer` (string, required, non-empty): the reference completion.
/// - `verifier` (string, optional, `null` = absent = `"exact"`): one of ``VerifierRegistry/names``.
/// - `metadata` (object of strings, optional): copied to `Problem.metadata`
///   (e.g. Countdown's `numbers` and `target`).
///
/// Other fields are ignored, so existing datasets with ids or sources load unchanged. Blank and
/// whitespace-only lines are skipped; `\r\n` line endings are accepted. Each record is also
/// checked against its verifier (a `numeric` answer must be a number, a `countdown` answer must
/// solve its puzzle, ...), so a bad record fails at load time instead of scoring 0 forever.
///
/// Records are split by the same prompt-hash rule as generated tasks
/// (``Split/containing(prompt:)``), so train and held-out records are disjoint.
public struct JSONLDataset: VerifiableTask {
  /// `"jsonl:"` followed by the file's name, e.g. `"jsonl:gsm8k.jsonl"`.
  public let name: String
  /// Every record, in file order.
  public let records: [Problem]
  private let train: [Problem]
  private let heldOut: [Problem]

  /// Wraps already-built problems. Unlike ``load(path:)`` this does not validate them; a
  /// problem naming an unknown verifier will simply score 0.
  public init(name: String, records: [Problem]) {
    self.name = name
    self.records = records
    train = records.filter { Split.containing(prompt: $0.prompt) == .train }
    heldOut = records.filter { Split.containing(prompt: $0.prompt) == .heldOut }
  }

  /// Reads and validates the file at `path`.
  /// - Throws: ``JSONLDatasetError`` naming the file, line and field of the first bad record,
  ///   or the file when it cannot be read, is not UTF-8, or holds no records.
  public static func load(path: String) throws -> JSONLDataset {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw JSONLDatasetError(file: path, line: nil, field: nil, reason: "cannot read file: \(error.localizedDescription)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw JSONLDatasetError(file: path, line: nil, field: nil, reason: "not valid UTF-8 text")
    }
    return try parse(text, source: path)
  }

  /// Parses JSONL `text`; `source` names it in errors and (by its last path component) in
  /// ``name``.
  /// - Throws: ``JSONLDatasetError`` as for ``load(path:)``.
  public static func parse(_ text: String, source: String) throws -> JSONLDataset {
    var records: [Problem] = []
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
      guard line.contains(where: { !$0.isWhitespace }) else { continue }
      records.append(try record(from: line, file: source, line: index + 1))
    }
    guard !records.isEmpty else {
      throw JSONLDatasetError(file: source, line: nil, field: nil, reason: "contains no records")
    }
    return JSONLDataset(name: "jsonl:" + (source.split(separator: "/").last.map(String.init) ?? source), records: records)
  }

  private static func record(from text: Substring, file: String, line: Int) throws -> Problem {
    func failure(_ field: String?, _ reason: String) -> JSONLDatasetError {
      JSONLDatasetError(file: file, line: line, field: field, reason: reason)
    }
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    } catch {
      throw failure(nil, "not valid JSON: \(jsonSyntaxMessage(error, line: text))")
    }
    guard case .object(let fields) = value else {
      throw failure(nil, "expected a JSON object, found \(value.typeName)")
    }
    func string(_ field: String, required: Bool) throws -> String? {
      switch fields[field] {
      case nil, .null?:
        if required { throw failure(field, "missing (required)") }
        return nil
      case .string(let string)?:
        if required && string.isEmpty { throw failure(field, "must not be empty") }
        return string
      case let other?:
        throw failure(field, "expected a string, found \(other.typeName)")
      }
    }
    let prompt = try string("prompt", required: true)!
    let answer = try string("answer", required: true)!
    let verifierName = try string("verifier", required: false)
    var metadata: [String: String] = [:]
    switch fields["metadata"] {
    case nil, .null?:
      break
    case .object(let entries)?:
      for (key, entry) in entries {
        guard case .string(let string) = entry else {
          throw failure("metadata", "expected string values, found \(entry.typeName) for key \(key.debugDescription)")
        }
        metadata[key] = string
      }
    case let other?:
      throw failure("metadata", "expected an object of strings, found \(other.typeName)")
    }

    let verifier: Verifier
    do {
      verifier = try VerifierRegistry.verifier(named: verifierName ?? VerifierRegistry.defaultVerifierName)
    } catch {
      throw failure("verifier", "\(error)")
    }
    let problem = Problem(prompt: prompt, answer: answer, verifier: verifierName, metadata: metadata)
    if let defect = verifier.defect(in: problem) { throw failure(defect.field, defect.reason) }
    return problem
  }

  /// The most specific explanation Foundation offers. JSONDecoder only says "The given data was
  /// not valid JSON.", while JSONSerialization says where ("Invalid value around character 26."),
  /// so the line is re-parsed with the latter just for the message.
  private static func jsonSyntaxMessage(_ error: Error, line: Substring) -> String {
    do {
      _ = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
    } catch {
      if let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
    }
    if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
    return "\(error)"
  }

  /// Every record in `split`, in file order: the deterministic choice for a full evaluation.
  public func records(in split: Split) -> [Problem] {
    split == .train ? train : heldOut
  }

  /// `count` records from `split`, deterministically in `seed`. Sampling is by shuffled passes:
  /// each pass is a fresh seeded permutation of the split, so when `count` <= the split's size
  /// no record repeats, and when it is larger every record appears `count / size` or one more
  /// times (sampling with replacement, balanced). Empty if the split has no records.
  public func problems(split: Split, count: Int, seed: UInt64) -> [Problem] {
    let pool = records(in: split)
    guard count > 0, !pool.isEmpty else { return [] }
    var rng = SplitMix64(seed: seed)
    var result: [Problem] = []
    result.reserveCapacity(count)
    while result.count < count {
      var pass = pool
      rng.shuffle(&pass)
      result += pass.prefix(count - result.count)
    }
    return result
  }
}
