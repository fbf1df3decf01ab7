/// Evaluates untrusted arithmetic text such as `(25-7)*3+39` by recursive descent:
///
///     expression := term (("+" | "-") term)*
///     term       := factor (("*" | "/") factor)*
///     factor     := integer | "(" expression ")"
///
/// Spaces may separate tokens. There is no unary minus: Countdown numbers are positive, and a
/// leading `-` is a common way for a model to smuggle in an extra operation.
///
/// Arithmetic is exact and integer-only: every `/` must divide without remainder (the Countdown
/// rule), every intermediate must fit in `Int`, and anything else makes the whole expression
/// invalid rather than rounded. Parenthesis nesting is capped at ``maxDepth`` so adversarial
/// input cannot exhaust the stack.
enum IntegerExpression {
  /// Deepest parenthesis nesting accepted; far more than any sensible answer needs.
  static let maxDepth = 32

  /// The value of a valid expression and the integer literals it used, in order of appearance.
  struct Evaluation: Equatable {
    var value: Int
    var literals: [Int]
  }

  /// Why an expression is invalid.
  enum Failure: Error, Equatable {
    /// Unexpected character or token at this byte offset (including running out of input).
    case syntax(offset: Int)
    /// A `/` whose dividend is not a multiple of its divisor.
    case inexactDivision
    case divisionByZero
    /// A literal or intermediate result outside `Int`.
    case overflow
    case tooDeep
  }

  static func evaluate(_ text: Substring) -> Result<Evaluation, Failure> {
    var parser = Parser(bytes: Array(text.utf8))
    do {
      let value = try parser.expression(depth: 0)
      parser.skipSpaces()
      guard parser.position == parser.bytes.count else { throw Failure.syntax(offset: parser.position) }
      return .success(Evaluation(value: value, literals: parser.literals))
    } catch let failure as Failure {
      return .failure(failure)
    } catch {
      preconditionFailure("IntegerExpression.Parser throws only Failure")
    }
  }

  private struct Parser {
    let bytes: [UInt8]
    var position = 0
    var literals: [Int] = []

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpaces() {
      while position < bytes.count && (bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t")) {
        position += 1
      }
    }

    /// The next non-space byte, consumed if it is one of `operators`.
    mutating func consume(oneOf operators: String) -> UInt8? {
      skipSpaces()
      guard position < bytes.count, operators.utf8.contains(bytes[position]) else { return nil }
      position += 1
      return bytes[position - 1]
    }

    mutating func expression(depth: Int) throws -> Int {
      var value = try term(depth: depth)
      while let op = consume(oneOf: "+-") {
        let rhs = try term(depth: depth)
        let (result, overflow) = op == UInt8(ascii: "+")
          ? value.addingReportingOverflow(rhs) : value.subtractingReportingOverflow(rhs)
        if overflow { throw Failure.overflow }
        value = result
      }
      return value
    }

    mutating func term(depth: Int) throws -> Int {
      var value = try factor(depth: depth)
      while let op = consume(oneOf: "*/") {
        let rhs = try factor(depth: depth)
        if op == UInt8(ascii: "*") {
          let (result, overflow) = value.multipliedReportingOverflow(by: rhs)
          if overflow { throw Failure.overflow }
          value = result
        } else {
          if rhs == 0 { throw Failure.divisionByZero }
          // Checked before `%`, which would trap on Int.min % -1.
          let (quotient, overflow) = value.dividedReportingOverflow(by: rhs)
          if overflow { throw Failure.overflow }
          if value % rhs != 0 { throw Failure.inexactDivision }
          value = quotient
        }
      }
      return value
    }

    mutating func factor(depth: Int) throws -> Int {
      skipSpaces()
      guard position < bytes.count else { throw Failure.syntax(offset: position) }
      if bytes[position] == UInt8(ascii: "(") {
        guard depth < IntegerExpression.maxDepth else { throw Failure.tooDeep }
        position += 1
        let value = try expression(depth: depth + 1)
        guard consume(oneOf: ")") != nil else { throw Failure.syntax(offset: position) }
        return value
      }
      return try integer()
    }

    mutating func integer() throws -> Int {
      let start = position
      var value = 0
      while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
        let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (next, overflow2) = shifted.addingReportingOverflow(Int(bytes[position] - UInt8(ascii: "0")))
        if overflow1 || overflow2 { throw Failure.overflow }
        value = next
        position += 1
      }
      guard position > start else { throw Failure.syntax(offset: start) }
      literals.append(value)
      return value
    }
  }
}
