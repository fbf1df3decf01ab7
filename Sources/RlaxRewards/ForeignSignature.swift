/// The C signature of a foreign reward function, parsed from config text such as
/// `(cstring prompt, cstring completion) -> double`.
///
/// Grammar: `( [argument {, argument}] ) -> return-type`, where an argument is `type [name]`.
/// - Argument types: `cstring`, `double`, `float`, `int32`, `int64`. Only `cstring` arguments
///   can be bound (numeric ones parse but are rejected: no problem field is a number).
/// - A cstring argument's name binds it to a problem field: `prompt`, `completion` or `answer`.
///   An unnamed argument binds by position in that order (first `prompt`, second `completion`,
///   third `answer`). Each field may be bound once.
/// - Return types: `double`, `float`, `int32`, `int64`, converted to Double.
///
/// Strings reach C as NUL-terminated UTF-8; text after an embedded NUL is not seen.
public struct ForeignSignature: Sendable, Hashable, CustomStringConvertible {
  /// A C type the signature language knows.
  public enum CType: String, Sendable, Hashable, CaseIterable {
    case cstring, double, float, int32, int64
  }

  /// A problem field a cstring argument can carry.
  public enum Field: String, Sendable, Hashable, CaseIterable {
    case prompt, completion, answer
  }

  /// The numeric return types.
  public enum ReturnType: String, Sendable, Hashable, CaseIterable {
    case double, float, int32, int64
  }

  public struct Argument: Sendable, Hashable {
    /// Always `.cstring` in a parsed signature (the only bindable type today).
    public var type: CType
    /// The name as written, or nil when the argument was bound by position.
    public var name: String?
    /// The problem field passed in this position.
    public var field: Field
  }

  public let arguments: [Argument]
  public let returnType: ReturnType
  /// The text the signature was parsed from.
  public let text: String

  /// The fields passed, in argument order.
  public var fields: [Field] { arguments.map(\.field) }

  /// Canonical form, e.g. `(cstring prompt, cstring completion) -> double`.
  public var description: String {
    "(" + arguments.map { "\($0.type.rawValue) \($0.field.rawValue)" }.joined(separator: ", ") + ") -> \(returnType.rawValue)"
  }

  public static func == (a: ForeignSignature, b: ForeignSignature) -> Bool {
    a.arguments.map(\.field) == b.arguments.map(\.field) && a.returnType == b.returnType
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(arguments.map(\.field))
    hasher.combine(returnType)
  }

  /// Parses `text`.
  /// - Throws: ``RewardError/badSignature(signature:reason:)`` naming the position and what was
  ///   expected, e.g. `signature "(cstring prompt, cstrin completion) -> double": unknown type
  ///   "cstrin" at argument 2; known: cstring, double, float, int32, int64`.
  public init(parsing text: String) throws {
    func fail(_ reason: String) -> RewardError { .badSignature(signature: text, reason: reason) }
    let knownTypes = CType.allCases.map(\.rawValue).joined(separator: ", ")
    let knownReturns = ReturnType.allCases.map(\.rawValue).joined(separator: ", ")
    let knownFields = Field.allCases.map(\.rawValue).joined(separator: ", ")

    let trimmed = text.trimmingWhitespace
    guard trimmed.first == "(" else {
      throw fail(trimmed.isEmpty ? "empty; expected \"(argument types) -> return type\""
                                 : "expected \"(\" at the start, found \(String(trimmed.prefix(1)).debugDescription)")
    }
    guard let close = trimmed.firstIndex(of: ")") else {
      throw fail("missing \")\" after the argument list")
    }
    let inside = trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmingWhitespace
    var arguments: [Argument] = []
    var boundBy: [Field: Int] = [:]
    if !inside.isEmpty && inside != "void" {
      let parts = inside.split(separator: ",", omittingEmptySubsequences: false)
      for (i, rawPart) in parts.enumerated() {
        let n = i + 1
        let tokens = rawPart.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        guard let typeName = tokens.first else {
          throw fail("empty argument \(n); expected a type (\(knownTypes))")
        }
        guard tokens.count <= 2 else {
          throw fail("unexpected \(tokens[2].debugDescription) at argument \(n); expected \"type name\" followed by \",\" or \")\"")
        }
        guard let type = CType(rawValue: typeName) else {
          throw fail("unknown type \(typeName.debugDescription) at argument \(n); known: \(knownTypes)")
        }
        let name = tokens.count == 2 ? tokens[1] : nil
        guard type == .cstring else {
          throw fail("argument \(n) has type \(type.rawValue), but only cstring arguments can be bound (to \(knownFields))")
        }
        let field: Field
        if let name {
          guard let named = Field(rawValue: name) else {
            throw fail("unknown argument name \(name.debugDescription) at argument \(n); known: \(knownFields) (unnamed arguments bind in that order)")
          }
          field = named
        } else {
          guard i < Field.allCases.count else {
            throw fail("argument \(n) has no name and nothing to bind to by position (only \(knownFields)); name it")
          }
          field = Field.allCases[i]
        }
        if let earlier = boundBy[field] {
          throw fail("argument \(n) binds \(field.rawValue.debugDescription), already bound by argument \(earlier)")
        }
        boundBy[field] = n
        arguments.append(Argument(type: type, name: name, field: field))
      }
    }

    let rest = trimmed[trimmed.index(after: close)...].trimmingWhitespace
    guard rest.hasPrefix("->") else {
      throw fail(rest.isEmpty ? "missing \"-> return type\" after \")\"; known return types: \(knownReturns)"
                              : "expected \"->\" after \")\", found \(rest.debugDescription)")
    }
    let returnTokens = rest.dropFirst(2).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    guard let returnName = returnTokens.first else {
      throw fail("missing return type after \"->\"; known: \(knownReturns)")
    }
    guard let returnType = ReturnType(rawValue: returnName) else {
      let what = returnName == "cstring" ? "unsupported return type \"cstring\"" : "unknown return type \(returnName.debugDescription)"
      throw fail("\(what); known: \(knownReturns)")
    }
    guard returnTokens.count == 1 else {
      throw fail("unexpected \(returnTokens[1].debugDescription) after the return type")
    }
    self.arguments = arguments
    self.returnType = returnType
    self.text = text
  }
}

extension StringProtocol {
  var trimmingWhitespace: String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
  }
}
