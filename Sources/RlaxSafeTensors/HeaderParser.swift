import Foundation

/// One tensor's entry in a header, after every check: its bytes are
/// `data[begin..<end]` of the data section, and `end - begin` matches dtype and shape.
struct HeaderEntry: Equatable {
  var name: String
  var dtype: SafeTensorsDType
  var shape: [Int]
  var begin: Int
  var end: Int
}

/// A header that has passed every check against the file it came from.
struct ParsedHeader {
  /// The tensors sorted by data offset, which is the order they were written in.
  var entries: [HeaderEntry]
  /// `__metadata__`, empty when the header has none.
  var metadata: [String: String]
}

/// Parses and checks a header as strictly as the reference implementation does, so that
/// anything we accept Python accepts too, and every problem becomes a `SafeTensorsError`
/// saying what was expected and what was found.
///
/// JSON itself is parsed by Foundation's `JSONSerialization`. Two consequences, both
/// accepted: a key repeated in the header keeps only its last value (a dropped tensor entry
/// still shows up as a gap in the data section unless it had exactly the same offsets), and
/// the header's key order is lost, so tensors are ordered by data offset (then by name for
/// zero-byte tensors sharing an offset).
enum HeaderParser {
  /// Checks `header` (the JSON text with its padding) of a file whose data section has
  /// `dataLength` bytes; `fileSize` and `source` only feed error messages.
  static func parse(_ header: [UInt8], dataLength: Int, fileSize: Int, source: String) throws -> ParsedHeader {
    func malformed(_ problem: String) -> SafeTensorsError { SafeTensorsError(.malformed, source: source, problem) }

    // JSONSerialization would guess UTF-16/32 from the byte pattern; the format says UTF-8.
    guard Array(String(decoding: header, as: UTF8.self).utf8) == header else {
      throw malformed("the header is not valid UTF-8")
    }
    let root: Any
    do {
      root = try JSONSerialization.jsonObject(with: Data(header), options: [.fragmentsAllowed])
    } catch {
      let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey].map { ": \($0)" } ?? ""
      throw malformed("the header is not valid JSON\(detail)")
    }
    guard let object = root as? [String: Any] else {
      throw malformed("the header is \(describeKind(root)), not a JSON object")
    }

    var metadata: [String: String] = [:]
    if let rawMetadata = object["__metadata__"], !(rawMetadata is NSNull) {
      guard let fields = rawMetadata as? [String: Any] else {
        throw malformed("__metadata__ is \(describeKind(rawMetadata)), not an object")
      }
      for key in fields.keys.sorted(by: utf8Order) {
        guard let value = fields[key] as? String else {
          throw malformed("__metadata__ value for \"\(key)\" is \(describeKind(fields[key] as Any)), not a string")
        }
        metadata[key] = value
      }
    }

    // Names in byte order so that, of several problems, the same one is always reported.
    var entries: [HeaderEntry] = []
    for name in object.keys.sorted(by: utf8Order) where name != "__metadata__" {
      entries.append(try entry(name, object[name] as Any, source: source))
    }
    entries.sort { ($0.begin, $0.end) != ($1.begin, $1.end)
      ? ($0.begin, $0.end) < ($1.begin, $1.end) : utf8Order($0.name, $1.name) }

    // The tensors must tile [0, dataLength) exactly: no overlap, no gap, nothing after.
    var cursor = 0
    var previous: HeaderEntry?
    for entry in entries {
      let offsets = Layout.describe([entry.begin, entry.end])
      if entry.begin < cursor, let previous {
        throw malformed("tensor \"\(entry.name)\": data_offsets \(offsets) overlap tensor \"\(previous.name)\" at \(Layout.describe([previous.begin, previous.end]))")
      }
      if entry.begin > cursor {
        throw malformed("tensor \"\(entry.name)\": data_offsets \(offsets) leave a gap of \(entry.begin - cursor) bytes after data offset \(cursor) (tensors must cover the data section back to back)")
      }
      cursor = entry.end
      previous = entry
    }
    if cursor > dataLength, let last = entries.last {
      let complete = fileSize - dataLength + cursor
      throw SafeTensorsError(.truncated, source: source,
                             "truncated: tensor \"\(last.name)\" has data_offsets \(Layout.describe([last.begin, last.end])) but the data section has only \(dataLength) bytes (out of range); the file has \(fileSize) bytes, a complete one would have \(complete)")
    }
    if cursor < dataLength {
      throw malformed("the data section has \(dataLength) bytes but the tensors cover only \(cursor) (\(dataLength - cursor) bytes unaccounted for at the end)")
    }
    return ParsedHeader(entries: entries, metadata: metadata)
  }

  /// One tensor entry: an object with a known `dtype`, a `shape` of non-negative integers and
  /// `data_offsets` [begin, end] whose size is what dtype and shape call for.
  static func entry(_ name: String, _ value: Any, source: String) throws -> HeaderEntry {
    func bad(_ problem: String) -> SafeTensorsError {
      SafeTensorsError(.malformed, source: source, "tensor \"\(name)\": \(problem)")
    }
    guard let fields = value as? [String: Any] else {
      throw bad("the entry is \(describeKind(value)), not an object with dtype, shape and data_offsets")
    }
    guard let rawDType = fields["dtype"] else { throw bad("the entry has no \"dtype\"") }
    guard let dtypeName = rawDType as? String else {
      throw bad("dtype is \(describeKind(rawDType)), not a string")
    }
    guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
      let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
      throw bad("unknown dtype \"\(dtypeName)\" (known: \(known))")
    }
    guard let rawShape = fields["shape"] else { throw bad("the entry has no \"shape\"") }
    let shape = try integers(rawShape, field: "shape", fail: bad)
    if shape.contains(where: { $0 < 0 }) {
      throw bad("shape \(Layout.describe(shape)) has a negative dimension")
    }
    guard let rawOffsets = fields["data_offsets"] else { throw bad("the entry has no \"data_offsets\"") }
    let offsets = try integers(rawOffsets, field: "data_offsets", fail: bad)
    guard offsets.count == 2 else {
      throw bad("data_offsets \(Layout.describe(offsets)) has \(offsets.count) numbers, not 2 ([begin, end])")
    }
    let (begin, end) = (offsets[0], offsets[1])
    guard begin >= 0, end >= 0 else { throw bad("data_offsets \(Layout.describe(offsets)) are negative") }
    guard begin <= end else { throw bad("data_offsets \(Layout.describe(offsets)) end before they begin") }
    guard let expected = Layout.byteCount(dtype, shape) else {
      throw bad("shape \(Layout.describe(shape)) is too large to address")
    }
    guard expected == end - begin else {
      throw bad("data_offsets \(Layout.describe(offsets)) hold \(end - begin) bytes but dtype \(dtype.rawValue) and shape \(Layout.describe(shape)) make \(expected)")
    }
    return HeaderEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
  }

  /// A JSON array of integers that fit `Int` (JSON floats such as `2.0` are refused, as the
  /// reference implementation refuses them).
  static func integers(_ value: Any, field: String, fail: (String) -> SafeTensorsError) throws -> [Int] {
    guard let array = value as? [Any] else { throw fail("\(field) is \(describeKind(value)), not an array of integers") }
    return try array.map { element in
      switch integer(element) {
      case .value(let v): return v
      case .outOfRange(let text): throw fail("\(field) has \(text), which is out of range")
      case .notInteger: throw fail("\(field) has \(describeKind(element)) where an integer belongs")
      }
    }
  }

  /// What a JSON value means as an integer.
  enum IntegerValue: Equatable {
    case value(Int)
    case outOfRange(String)
    case notInteger
  }

  /// Classifies a JSONSerialization number. Booleans are NSNumbers of type "c" there, so the
  /// Objective-C type code is what tells `1` from `true` and from `1.0`.
  static func integer(_ value: Any) -> IntegerValue {
    if value is NSDecimalNumber { return .outOfRange("\(value)") }  // beyond 64 bits
    guard let number = value as? NSNumber, !(value is String) else { return .notInteger }
    switch String(cString: number.objCType) {
    case "s", "i", "l", "q":
      let v = number.int64Value
      return v >= Int64(Int.min) && v <= Int64(Int.max) ? .value(Int(v)) : .outOfRange("\(v)")
    case "S", "I", "L", "Q":
      let v = number.uint64Value
      return v <= UInt64(Int.max) ? .value(Int(v)) : .outOfRange("\(v)")
    default:
      return .notInteger
    }
  }

  /// "a string", "an array", ... for messages about a JSON value of the wrong kind.
  static func describeKind(_ value: Any) -> String {
    if value is String { return "a string \"\(value)\"" }
    if value is NSNull { return "null" }
    if value is [Any] { return "an array" }
    if value is [String: Any] { return "an object" }
    if let number = value as? NSNumber {
      return String(cString: number.objCType) == "c" ? "a boolean" : "the number \(number)"
    }
    return "a \(type(of: value))"
  }

  /// Orders strings by their UTF-8 bytes, which does not depend on the platform's collation.
  static func utf8Order(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
