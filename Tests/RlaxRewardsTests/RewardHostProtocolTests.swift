import Foundation
import RlaxRewards
import XCTest

/// The host executable spoken to directly, as documented in RewardHostProtocol.
final class RewardHostProtocolTests: XCTestCase {
  func host(_ arguments: [String], input: String) throws -> (status: Int32, lines: [String]) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try RewardHostLocator.find())
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init))
  }

  func testRequestsAndReplies() throws {
    let input = """
      {"prompt":"2+2=","completion":"4","answer":"4"}
      {"prompt":"2+2=","completion":"5"}
      not json

      {"completion":"4"}

      """
    let result = try host(["--library", Fixture.library(), "--symbol", "sum_reward",
                           "--signature", "(cstring prompt, cstring completion) -> double"], input: input)
    XCTAssertEqual(result.status, 0)
    XCTAssertEqual(result.lines.count, 5, "\(result.lines)")
    XCTAssertEqual(result.lines[0], #"{"ready":true}"#)
    XCTAssertEqual(result.lines[1], #"{"reward":1}"#)
    XCTAssertEqual(result.lines[2], #"{"reward":0}"#)
    XCTAssertTrue(result.lines[3].hasPrefix(#"{"error":"unreadable request"#), result.lines[3])
    XCTAssertEqual(result.lines[4], #"{"reward":0}"#)
  }

  func testNonFiniteRewardsAreStrings() throws {
    let result = try host(["--library", Fixture.library(), "--symbol", "nan_reward", "--signature", "(cstring, cstring) -> double"],
                          input: "{}\n")
    XCTAssertEqual(result.lines, [#"{"ready":true}"#, #"{"reward":"nan"}"#])
  }

  func testHandshakeErrors() throws {
    let missing = try host(["--library", Fixture.library(), "--symbol", "nope", "--signature", "() -> double"], input: "")
    XCTAssertEqual(missing.status, 1)
    XCTAssertEqual(missing.lines.count, 1)
    XCTAssertTrue(missing.lines[0].contains(#"has no symbol \"nope\""#), missing.lines[0])
    let usage = try host(["--library", "x.so"], input: "")
    XCTAssertEqual(usage.status, 2)
    XCTAssertTrue(usage.lines[0].contains("are all required"), usage.lines[0])
  }
}
