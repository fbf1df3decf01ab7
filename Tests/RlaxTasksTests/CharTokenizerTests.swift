import XCTest
@testable import RlaxTasks

final class CharTokenizerTests: XCTestCase {
  let tokenizer = CharTokenizer()

  func testSpecialIdsAndVocabularySize() {
    XCTAssertEqual(tokenizer.padID, 0)
    XCTAssertEqual(tokenizer.bosID, 1)
    XCTAssertEqual(tokenizer.eosID, 2)
    XCTAssertEqual(tokenizer.vocabSize, 96)
  }

  func testDocumentedIdsOfAnchorCharacters() throws {
    // The id layout is a checkpoint format: pin the first id of each block.
    XCTAssertEqual(try tokenizer.encode("0"), [3])
    XCTAssertEqual(try tokenizer.encode("9"), [12])
    XCTAssertEqual(try tokenizer.encode("+-*/=(),"), [13, 14, 15, 16, 17, 18, 19, 20])
    XCTAssertEqual(try tokenizer.encode(" :?."), [21, 22, 23, 24])
    XCTAssertEqual(try tokenizer.encode("azAZ"), [25, 50, 51, 76])
    XCTAssertEqual(try tokenizer.encode("\n!}"), [77, 78, 95])
  }

  func testTaskPromptsEncodeAsExpected() throws {
    // "12+345=" -> digits 1,2 are ids 4,5; '+' 13; 3,4,5 -> 6,7,8; '=' 17.
    XCTAssertEqual(try tokenizer.encode("12+345="), [4, 5, 13, 6, 7, 8, 17])
  }

  func testEveryNonSpecialIdRoundTrips() throws {
    let ids = (3..<Int32(tokenizer.vocabSize)).map { $0 }
    let text = tokenizer.decode(ids)
    XCTAssertEqual(text.count, 93)
    XCTAssertEqual(try tokenizer.encode(text), ids)
  }

  func testAllPrintableASCIIExceptThreeRoundTrips() throws {
    let printable = (32...126).map { Character(Unicode.Scalar(UInt8($0))) }
    let excluded: Set<Character> = ["`", "~", "@"]
    let text = String(printable.filter { !excluded.contains($0) }) + "\n"
    XCTAssertEqual(tokenizer.decode(try tokenizer.encode(text)), text)
    for character in excluded {
      XCTAssertThrowsError(try tokenizer.encode(String(character)))
    }
  }

  func testDecodeRendersSpecialsAsNothingAndDoesNotStopAtEOS() {
    // BOS "1" EOS "2" PAD
    XCTAssertEqual(tokenizer.decode([1, 4, 2, 5, 0]), "12")
  }

  func testDecodeMarksOutOfRangeIds() {
    XCTAssertEqual(tokenizer.decode([4, 96, -1, 5]), "1\u{FFFD}\u{FFFD}2")
  }

  func testUnsupportedCharacterErrorNamesCharacterAndOffset() {
    XCTAssertThrowsError(try tokenizer.encode("caf\u{E9} 1")) { error in
      XCTAssertEqual(error as? TokenizerError, .unsupportedCharacter("\u{E9}", offset: 3))
      XCTAssertEqual("\(error)", "character \"\u{E9}\" (U+00E9) at offset 3 is not in the tokenizer vocabulary")
    }
    XCTAssertThrowsError(try tokenizer.encode("a\tb")) { error in
      XCTAssertEqual("\(error)", "character \"\\t\" (U+0009) at offset 1 is not in the tokenizer vocabulary")
    }
    // "\r\n" is one Character in Swift; the error still points at the \r.
    XCTAssertThrowsError(try tokenizer.encode("ab\r\n")) { error in
      XCTAssertEqual(error as? TokenizerError, .unsupportedCharacter("\r", offset: 2))
    }
  }

  func testEmptyStringEncodesToNothing() throws {
    XCTAssertEqual(try tokenizer.encode(""), [])
    XCTAssertEqual(tokenizer.decode([]), "")
  }
}
