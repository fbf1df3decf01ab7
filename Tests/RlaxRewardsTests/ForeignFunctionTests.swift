import RlaxRewards
import RlaxTasks
import XCTest

/// libffi calls in this process (only functions that return).
final class ForeignFunctionTests: XCTestCase {
  func call(_ symbol: String, _ signature: String, prompt: String = "", completion: String = "", answer: String = "") throws -> Double {
    try ForeignFunction(library: Fixture.library(), symbol: symbol, signature: signature)
      .call(prompt: prompt, completion: completion, answer: answer)
  }

  func testDoubleResults() throws {
    let f = try ForeignFunction(library: Fixture.library(), symbol: "sum_reward", signature: "(cstring prompt, cstring completion) -> double")
    XCTAssertEqual(f.name, "sum_reward@rewards.so")
    XCTAssertEqual(f.score(problem: Problem(prompt: "12+30=", answer: "42"), completion: "42"), 1)
    XCTAssertEqual(f.score(problem: Problem(prompt: "12+30=", answer: "42"), completion: "41"), 0)
    XCTAssertEqual(try call("answer_match", "(cstring completion, cstring answer) -> double", completion: "abc", answer: "abc"), 1)
    XCTAssertEqual(try call("answer_match", "(cstring completion, cstring answer) -> double", completion: "abc", answer: "abd"), 0)
    XCTAssertEqual(try call("constant_reward", "() -> double"), 0.25)
  }

  func testIntegerAndFloatResults() throws {
    XCTAssertEqual(try call("length_reward", "(cstring completion) -> int32", completion: "hello"), 5)
    XCTAssertEqual(try call("negative_length", "(cstring completion) -> int32", completion: "hello"), -5)
    XCTAssertEqual(try call("big_reward", "(cstring completion) -> int64", completion: "abc"), Double((1 << 40) + 3))
    XCTAssertEqual(try call("half_length", "(cstring completion) -> float", completion: "abc"), 1.5)
    XCTAssertTrue(try call("nan_reward", "(cstring, cstring) -> double").isNaN)
  }

  func testArgumentsBindByNameAndByPosition() throws {
    func positions(_ signature: String) throws -> Double {
      try call("positions", signature, prompt: "1", completion: "2", answer: "3")
    }
    XCTAssertEqual(try positions("(cstring, cstring, cstring) -> double"), 123)
    XCTAssertEqual(try positions("(cstring prompt, cstring completion, cstring answer) -> double"), 123)
    XCTAssertEqual(try positions("(cstring answer, cstring prompt, cstring completion) -> double"), 312)
    XCTAssertEqual(try positions("(cstring completion, cstring answer, cstring prompt) -> double"), 231)
    // Unicode travels as UTF-8.
    XCTAssertEqual(try call("length_reward", "(cstring completion) -> int32", completion: "héllo"), 6)
  }

  func testMissingLibraryAndSymbolAreNamed() throws {
    XCTAssertThrowsMessage(try ForeignFunction(library: "/nonexistent/libnothing.so", symbol: "f", signature: "() -> double"),
                           contains: ["/nonexistent/libnothing.so", "no such file"])
    let notALibrary = try Fixture.library().replacingOccurrences(of: "rewards.so", with: "fake.so")
    try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: notALibrary))
    XCTAssertThrowsMessage(try ForeignFunction(library: notALibrary, symbol: "f", signature: "() -> double"),
                           contains: [notALibrary, "cannot load reward library"])
    XCTAssertThrowsMessage(try ForeignFunction(library: Fixture.library(), symbol: "no_such_reward", signature: "() -> double"),
                           contains: ["has no symbol \"no_such_reward\"", "rewards.so"])
    XCTAssertThrowsMessage(try ForeignFunction(library: Fixture.library(), symbol: "sum_reward", signature: "(cstring prompt, cstrin completion) -> double"),
                           contains: [#"unknown type "cstrin" at argument 2"#])
  }
}
