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
/// whitespace-only lines are skipped; `\r\n` line endings and a leading UTF-8 byte-order mark
/// are accepted. A line that is not UTF-8, or longer than ``maxLineBytes`` (1 MiB), is an error
/// naming the file and the line. Each record is also
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
  /// The path (or label) the records were read from, for messages.
  public let source: String
  /// The longest line accepted, in bytes (without its line ending): 1 MiB. A longer line is
  /// far more likely a file that is not JSON Lines (or lost its newlines) than a record.
  public static let maxLineBytes = 1 << 20
  private let train: [Problem]
  private let heldOut: [Problem]

  /// Wraps already-built problems. Unlike ``load(path:)`` this does not validate them; a
  /// problem naming an unknown verifier will simply score 0.
  public init(name: String, records: [Problem], source: String? = nil) {
    self.name = name
    self.records = records
    self.source = source ?? name
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
    return try parse(bytes: data, source: path)
  }

  /// Parses JSONL bytes line by line, so that bad UTF-8 or an over-long line names its line.
  /// - Throws: ``JSONLDatasetError`` as for ``load(path:)``.
  public static func parse(bytes data: Data, source: String) throws -> JSONLDataset {
    let bytes = [UInt8](data)
    var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // a UTF-8 byte-order mark
    var lineNumber = 0
    var records: [Problem] = []
    while start < bytes.count || (start == bytes.count && lineNumber == 0) {
      lineNumber += 1
      let newline = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
      var end = newline
      if end > start && bytes[end - 1] == 0x0D { end -= 1 }
      let length = end - start
      guard length <= maxLineBytes else {
        throw JSONLDatasetError(file: source, line: lineNumber, field: nil,
                                reason: "line is \(length) bytes, longer than the \(maxLineBytes)-byte limit for one record (JSONLDataset.maxLineBytes); is this a JSON Lines file?")
      }
      let raw = bytes[start..<end]
      guard let line = String(validating: raw, as: UTF8.self) else {
        let offset = firstInvalidUTF8(raw)
        throw JSONLDatasetError(file: source, line: lineNumber, field: nil,
                                reason: "not valid UTF-8: byte 0x\(String(format: "%02X", raw[raw.startIndex + offset])) at byte \(offset + 1) of the line")
      }
      if line.contains(where: { !$0.isWhitespace }) {
        records.append(try record(from: Substring(line), file: source, line: lineNumber))
      }
      start = newline + 1
    }
    guard !records.isEmpty else {
      throw JSONLDatasetError(file: source, line: nil, field: nil, reason: "contains no records")
    }
    return JSONLDataset(name: "jsonl:" + (source.split(separator: "/").last.map(String.init) ?? source), records: records, source: source)
  }

  /// The offset of the first byte that does not continue a valid UTF-8 sequence.
  private static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int {
    var decoder = UTF8()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
      switch decoder.decode(&iterator) {
      case .scalarValue(let scalar): offset += UTF8.width(scalar)
      case .emptyInput: return max(0, bytes.count - 1)
      case .error: return min(offset, bytes.count - 1)
      }
    }
  }

  /// Parses JSONL `text`; `source` names it in errors and (by its last path component) in
  /// ``name``.
  /// - Throws: ``JSONLDatasetError`` as for ``load(path:)``.
  public static func parse(_ text: String, source: String) throws -> JSONLDataset {
    // By bytes: in a String "\r\n" is one Character, which splitting on "\n" would miss.
    try parse(bytes: Data(text.utf8), source: source)
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

  /// Throws when `split` has no records, naming the file and the split rule: a dataset whose
  /// prompts all hash into the train split cannot be evaluated on held-out problems, and one
  /// whose prompts all hash into the held-out split cannot be trained on. Called when a run
  /// is configured, before any training.
  public func requireRecords(in split: Split) throws {
    guard records(in: split).isEmpty else { return }
    let rule = "a record is held out iff the 64-bit FNV-1a hash of its prompt is 0 mod 10 (about 1 record in 10)"
    switch split {
    case .heldOut:
      throw JSONLDatasetError(file: source, line: nil, field: nil,
                              reason: "none of its \(records.count) records is held out (\(rule)), so held-out evaluation has no problems; "
                                + "add records, or evaluate on the train split (--set eval.split=train)")
    case .train:
      throw JSONLDatasetError(file: source, line: nil, field: nil,
                              reason: "all of its \(records.count) records are held out (\(rule)), so there is nothing to train on; add records")
    }
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
