import RlaxRewards
import XCTest

final class ForeignSignatureTests: XCTestCase {
  func testParsesNamedArguments() throws {
    let s = try ForeignSignature(parsing: "(cstring prompt, cstring completion) -> double")
    XCTAssertEqual(s.fields, [.prompt, .completion])
    XCTAssertEqual(s.returnType, .double)
    XCTAssertEqual(s.description, "(cstring prompt, cstring completion) -> double")
  }

  func testNamesBindInAnyOrder() throws {
    let s = try ForeignSignature(parsing: "  ( cstring answer,cstring   prompt , cstring completion )->int64 ")
    XCTAssertEqual(s.fields, [.answer, .prompt, .completion])
    XCTAssertEqual(s.returnType, .int64)
  }

  func testUnnamedArgumentsBindByPosition() throws {
    XCTAssertEqual(try ForeignSignature(parsing: "(cstring, cstring, cstring) -> float").fields, [.prompt, .completion, .answer])
    XCTAssertEqual(try ForeignSignature(parsing: "(cstring, cstring answer) -> int32").fields, [.prompt, .answer])
    XCTAssertEqual(try ForeignSignature(parsing: "() -> double").fields, [])
    XCTAssertEqual(try ForeignSignature(parsing: "(void) -> double").fields, [])
  }

  func testErrorsNameTheProblem() {
    let known = "known: cstring, double, float, int32, int64"
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt, cstrin completion) -> double"),
                           contains: [#"signature "(cstring prompt, cstrin completion) -> double""#,
                                      #"unknown type "cstrin" at argument 2; \#(known)"#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "cstring prompt -> double"), contains: [#"expected "(" at the start"#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: ""), contains: ["empty"])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt -> double"), contains: [#"missing ")""#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt)"), contains: [#"missing "-> return type""#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt) double"), contains: [#"expected "->" after ")""#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt) ->"), contains: [#"missing return type after "->""#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt) -> bool"),
                           contains: [#"unknown return type "bool"; known: double, float, int32, int64"#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt) -> cstring"), contains: [#"unsupported return type "cstring""#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt) -> double x"), contains: [#"unexpected "x" after the return type"#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt,) -> double"), contains: ["empty argument 2"])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(const char *prompt) -> double"), contains: ["at argument 1"])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring prompt, double scale) -> double"),
                           contains: ["argument 2 has type double", "only cstring arguments can be bound"])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring text) -> double"),
                           contains: [#"unknown argument name "text" at argument 1; known: prompt, completion, answer"#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring completion, cstring) -> double"),
                           contains: [#"argument 2 binds "completion", already bound by argument 1"#])
    XCTAssertThrowsMessage(try ForeignSignature(parsing: "(cstring, cstring, cstring, cstring) -> double"),
                           contains: ["argument 4 has no name"])
  }

  func testConfigValidatesAndDecodesWithDefaults() throws {
    let empty = try JSONDecoder().decode(RewardConfig.self, from: Data("{}".utf8))
    XCTAssertEqual(empty, RewardConfig(timeoutSeconds: 5, foreign: nil))
    let json = #"{"timeoutSeconds": 0.5, "foreign": {"library": "/x/lib.so", "symbol": "f", "signature": "(cstring completion) -> int32"}}"#
    let config = try JSONDecoder().decode(RewardConfig.self, from: Data(json.utf8))
    XCTAssertEqual(config.foreign?.symbol, "f")
    XCTAssertEqual(config.timeoutSeconds, 0.5)
    XCTAssertNoThrow(try config.validate())
    let roundTrip = try JSONDecoder().decode(RewardConfig.self, from: JSONEncoder().encode(config))
    XCTAssertEqual(roundTrip, config)
    XCTAssertThrowsMessage(try RewardConfig(timeoutSeconds: 0).validate(), contains: ["timeoutSeconds", "must be > 0"])
    var bad = config
    bad.foreign?.signature = "(cstring completion) -> str"
    XCTAssertThrowsMessage(try bad.validate(), contains: [#"unknown return type "str""#])
  }
}
