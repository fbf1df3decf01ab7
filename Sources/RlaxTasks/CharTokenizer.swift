import Foundation

/// A character-level tokenizer with a fixed 96-token vocabulary, enough for the built-in tasks
/// and for typical English math/text datasets.
///
/// Ids (stable: checkpoints depend on them):
/// - 0 PAD, 1 BOS, 2 EOS (special; they decode to nothing)
/// - 3...12 the digits `0`...`9`
/// - 13...20 `+ - * / = ( ) ,`
/// - 21 space, 22 `:`, 23 `?`, 24 `.`
/// - 25...50 `a`...`z`, 51...76 `A`...`Z`
/// - 77 newline (`\n`)
/// - 78...95 `! " # $ % & ' ; < > [ \ ] ^ _ { | }`
///
/// That is every printable ASCII character except `` ` ``, `~` and `@` (dropped to stay within
/// 96 ids, a multiple of 32 that keeps embedding tables aligned), plus newline. Tab and `\r` are
/// not included: normalise them before encoding.
public struct CharTokenizer: Sendable {
  /// Padding; never produced by `encode`.
  public let padID: Int32 = 0
  /// Beginning of sequence; callers prepend it, `encode` does not.
  public let bosID: Int32 = 1
  /// End of sequence; the model emits it to stop, `encode` does not append it.
  public let eosID: Int32 = 2
  /// Number of ids, specials included: every id is in `0..<vocabSize`.
  public var vocabSize: Int { Self.symbols.count }

  /// The text of each id; specials are empty strings.
  private static let symbols: [String] = {
    let specials = ["", "", ""]
    let characters = Array("0123456789") + Array("+-*/=(),") + Array(" :?.")
      + Array("abcdefghijklmnopqrstuvwxyz") + Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
      + Array("\n") + Array("!\"#$%&';<>[\\]^_{|}")
    return specials + characters.map(String.init)
  }()

  /// ASCII byte -> id, -1 where the byte has no token. All symbols are single ASCII bytes,
  /// so encoding is one table lookup per byte.
  private static let idOfASCII: [Int32] = {
    var table = [Int32](repeating: -1, count: 128)
    for (id, symbol) in symbols.enumerated() where !symbol.isEmpty {
      table[Int(symbol.utf8.first!)] = Int32(id)
    }
    return table
  }()

  /// Creates the tokenizer (the vocabulary is fixed, so all instances are equal).
  public init() {}

  /// Maps text to ids, one per character, without BOS or EOS.
  /// - Throws: ``TokenizerError/unsupportedCharacter(_:offset:)`` for the first character not in
  ///   the vocabulary.
  public func encode(_ text: String) throws -> [Int32] {
    var ids: [Int32] = []
    ids.reserveCapacity(text.utf8.count)
    // Iterate scalars, not bytes, so the error can show the whole offending character. Every
    // in-vocabulary scalar is one ASCII byte and one Character, so the scalar offset of the
    // first bad scalar is also its character offset.
    for (offset, scalar) in text.unicodeScalars.enumerated() {
      let id = scalar.isASCII ? Self.idOfASCII[Int(scalar.value)] : -1
      if id < 0 { throw TokenizerError.unsupportedCharacter(scalar, offset: offset) }
      ids.append(id)
    }
    return ids
  }

  /// Maps ids back to text. Special ids (PAD, BOS, EOS) render as nothing and decoding does not
  /// stop at them; ids outside the vocabulary render as U+FFFD so they stay visible in logs
  /// (and cannot accidentally verify).
  public func decode(_ ids: [Int32]) -> String {
    var text = ""
    text.reserveCapacity(ids.count)
    for id in ids {
      if id >= 0 && Int(id) < Self.symbols.count {
        text += Self.symbols[Int(id)]
      } else {
        text += "\u{FFFD}"
      }
    }
    return text
  }
}

/// Why `CharTokenizer.encode` refused a string.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, LocalizedError {
  /// `scalar` at 0-based character `offset` has no token.
  case unsupportedCharacter(Unicode.Scalar, offset: Int)

  /// Names the character (escaped if it is a control character), its code point, and where it is,
  /// e.g. `character "é" (U+00E9) at offset 5 is not in the tokenizer vocabulary`.
  public var description: String {
    switch self {
    case .unsupportedCharacter(let scalar, let offset):
      let hex = String(scalar.value, radix: 16, uppercase: true)
      let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
      return "character \"\(scalar.escaped(asASCII: false))\" (\(code)) at offset \(offset) is not in the tokenizer vocabulary"
    }
  }

  /// Same as `description`, so `localizedDescription` is informative too.
  public var errorDescription: String? { description }
}
