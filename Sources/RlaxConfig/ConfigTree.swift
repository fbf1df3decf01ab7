import Foundation

/// Generic operations on config trees, after AXLearn: print as flat `a.b.c = value` lines,
/// edit by path (`--set a.b.c=value`), and replace every sub-config of one type by another
/// across the whole tree. Sub-configs that can be one of several types carry a `"type"` field.
public enum ConfigTree {
  /// `a.b.c = value` lines, sorted by path.
  public static func flatten(_ tree: JSONValue, prefix: String = "") -> [String] {
    switch tree {
    case .object(let fields):
      return fields.keys.sorted().flatMap { key in
        flatten(fields[key]!, prefix: prefix.isEmpty ? key : "\(prefix).\(key)")
      }
    default:
      return ["\(prefix) = \(tree.literal)"]
    }
  }

  /// Applies `path=value`: the path must exist, and the value must parse as the kind of value
  /// already there (a section's `type` may change; the caller rebuilds it from defaults).
  public static func set(_ tree: inout JSONValue, edit: String) throws {
    guard let eq = edit.firstIndex(of: "="), eq != edit.startIndex else {
      throw ConfigError.badEdit(edit: edit, reason: "expected path=value")
    }
    let path = String(edit[..<eq]), raw = String(edit[edit.index(after: eq)...])
    try set(&tree, keys: path.split(separator: ".").map(String.init), at: "", raw: raw)
  }

  private static func set(_ node: inout JSONValue, keys: [String], at prefix: String, raw: String) throws {
    guard case .object(var fields) = node else {
      throw ConfigError.unknownPath(path: prefix, known: [])
    }
    let key = keys[0], path = prefix.isEmpty ? key : "\(prefix).\(key)"
    guard var child = fields[key] else {
      throw ConfigError.unknownPath(path: path, known: fields.keys.sorted())
    }
    if keys.count == 1 {
      child = try parse(raw, like: child, path: path)
    } else {
      try set(&child, keys: Array(keys.dropFirst()), at: path, raw: raw)
    }
    fields[key] = child
    node = .object(fields)
  }

  static func parse(_ raw: String, like old: JSONValue, path: String) throws -> JSONValue {
    switch old {
    case .bool:
      guard let b = Bool(raw) else { throw ConfigError.typeMismatch(path: path, expected: "true or false", found: "'\(raw)'") }
      return .bool(b)
    case .number:
      // Whether an integer field got a fraction is caught when the tree is built.
      guard let d = Double(raw), d.isFinite else { throw ConfigError.typeMismatch(path: path, expected: "a number", found: "'\(raw)'") }
      // Config numbers are JSON doubles: an integer literal past 2^53 would silently become a
      // different integer (a seed of 9007199254740993 would run as ...992).
      if isIntegerLiteral(raw), !(Int64(raw).map { Int64(exactly: d) == $0 } ?? UInt64(raw).map { UInt64(exactly: d) == $0 } ?? false) {
        throw ConfigError.typeMismatch(path: path, expected: "an integer of magnitude at most 2^53 = 9007199254740992 (config numbers are JSON doubles; a larger one would be rounded)",
                                       found: "'\(raw)'")
      }
      return .number(d)
    case .string, .null:
      return .string(raw)
    case .array, .object:
      guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8)) else {
        throw ConfigError.typeMismatch(path: path, expected: "\(old.kind) in JSON", found: "'\(raw)'")
      }
      return value
    }
  }

  /// Replaces every section whose `type` is `from` by `replacement` (a section with its own
  /// `type`), copying over the fields both have: one edit swaps a component across the tree.
  /// Returns how many sections were replaced.
  @discardableResult
  public static func replaceAll(type from: String, with replacement: JSONValue, in tree: inout JSONValue) -> Int {
    guard case .object(var fields) = tree else { return 0 }
    if case .string(from) = fields["type"], case .object(var new) = replacement {
      for (key, value) in fields where key != "type" && new[key] != nil { new[key] = value }
      tree = .object(new)
      return 1
    }
    var count = 0
    for key in fields.keys {
      var child = fields[key]!
      count += replaceAll(type: from, with: replacement, in: &child)
      fields[key] = child
    }
    tree = .object(fields)
    return count
  }

  /// Decodes a tree into a typed config, turning decoding errors into path-named ones.
  public static func build<T: Decodable>(_ tree: JSONValue, as type: T.Type, root: String = "") throws -> T {
    do {
      return try tree.decode(as: type)
    } catch let DecodingError.keyNotFound(key, context) {
      let path = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
      throw ConfigError.required(path: root.isEmpty ? path : "\(root).\(path)", hint: "missing from the config")
    } catch let DecodingError.typeMismatch(expected, context) {
      throw ConfigError.typeMismatch(path: joined(root, context), expected: "\(expected)", found: context.debugDescription)
    } catch let DecodingError.dataCorrupted(context) {
      // Foundation reports "2.5 into an Int" or "-1 into a UInt64" without a path (as "not
      // valid JSON"): find the field by zeroing each suspect number in turn until the tree
      // decodes, then say which integers the field takes.
      if let (keys, value) = numberCulprit(tree, as: type) {
        let path = keys.joined(separator: ".")
        let full = root.isEmpty ? path : "\(root).\(path)"
        if value != value.rounded() {
          throw ConfigError.typeMismatch(path: full, expected: "an integer", found: "a fraction")
        }
        throw ConfigError.typeMismatch(path: full, expected: "an integer in \(integerRange(tree, keys: keys, as: type))",
                                       found: integerText(value))
      }
      let path = joined(root, context)
      throw ConfigError.invalid(path: path.isEmpty ? "(the whole config)" : path, reason: context.debugDescription)
    }
  }

  private static func isIntegerLiteral(_ raw: String) -> Bool {
    let digits = raw.hasPrefix("-") || raw.hasPrefix("+") ? raw.dropFirst() : Substring(raw)
    return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
  }

  /// 2^53: every integer up to it is exactly a Double, and no config integer may pass it.
  static let maxExactInteger = 9_007_199_254_740_992.0

  /// The first number (in path order) that stops the tree decoding: a fraction, a negative
  /// number or one past 2^53, which zeroed lets it decode.
  private static func numberCulprit<T: Decodable>(_ tree: JSONValue, as type: T.Type) -> ([String], Double)? {
    func leaves(_ node: JSONValue, _ prefix: [String]) -> [([String], Double)] {
      switch node {
      case .object(let f): return f.keys.sorted().flatMap { leaves(f[$0]!, prefix + [$0]) }
      case .number(let n) where n != n.rounded() || n < 0 || abs(n) > maxExactInteger: return [(prefix, n)]
      default: return []
      }
    }
    for (keys, value) in leaves(tree, []) where decodes(tree, keys: keys, value: 0, as: type) {
      return (keys, value)
    }
    return nil
  }

  private static func decodes<T: Decodable>(_ tree: JSONValue, keys: [String], value: Double, as type: T.Type) -> Bool {
    var copy = tree
    guard (try? set(&copy, keys: keys, at: "", raw: integerText(value))) != nil else { return false }
    return (try? copy.decode(as: type)) != nil
  }

  /// The integers the field at `keys` takes, found by probing: signed or not, 32 or 64 bits.
  private static func integerRange<T: Decodable>(_ tree: JSONValue, keys: [String], as type: T.Type) -> String {
    let signed = decodes(tree, keys: keys, value: -1, as: type)
    let wide = decodes(tree, keys: keys, value: signed ? 2_147_483_648 : 4_294_967_296, as: type)
    switch (signed, wide) {
    case (true, true): return "\(Int64.min)...\(Int64.max) (at most 2^53 = 9007199254740992 in magnitude in a config)"
    case (true, false): return "\(Int32.min)...\(Int32.max)"
    case (false, true): return "0...\(UInt64.max) (at most 2^53 = 9007199254740992 in a config)"
    case (false, false): return "0...\(UInt32.max)"
    }
  }

  /// `-1`, `100000000000000000000`: integers without exponent or fraction.
  private static func integerText(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e21 ? String(format: "%.0f", value) : "\(value)"
  }

  private static func joined(_ root: String, _ context: DecodingError.Context) -> String {
    let path = context.codingPath.map(\.stringValue).joined(separator: ".")
    return [root, path].filter { !$0.isEmpty }.joined(separator: ".")
  }
}

/// Loading and saving configs as JSON files.
public enum ConfigFile {
  public static func load<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw ConfigError.file(path: path, reason: "cannot read: \(error.localizedDescription)")
    }
    let tree: JSONValue
    do { tree = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
      throw ConfigError.file(path: path, reason: "not valid JSON: \(error)")
    }
    return try ConfigTree.build(tree, as: type)
  }

  public static func save<T: Encodable>(_ config: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(config).write(to: URL(fileURLWithPath: path), options: .atomic)
  }
}

extension ConfigTree {
  /// Overlays `overlay` on `base`: sections merge field by field; a field `base` lacks is an
  /// error naming it (a typo in a config file must not be silently ignored). A section whose
  /// `type` changes is taken whole from the overlay.
  public static func merge(_ base: JSONValue, _ overlay: JSONValue, path: String = "") throws -> JSONValue {
    guard case .object(var fields) = base, case .object(let over) = overlay else { return overlay }
    if let t = over["type"], t != fields["type"] { return overlay }
    for (key, value) in over {
      let p = path.isEmpty ? key : "\(path).\(key)"
      guard let existing = fields[key] else { throw ConfigError.unknownPath(path: p, known: fields.keys.sorted()) }
      // A map of strings (task options, say) is free-form: the overlay replaces it whole.
      if case .object(let e) = existing, e.values.allSatisfy({ if case .string = $0 { true } else { false } }) {
        fields[key] = value
        continue
      }
      fields[key] = try merge(existing, value, path: p)
    }
    return .object(fields)
  }
}
