import XCTest
import RlaxTasks

final class TaskRegistryTests: XCTestCase {
  func testBuildsTasksWithDefaultsAndOptions() throws {
    let arithmetic = try XCTUnwrap(TaskRegistry.make(name: "arithmetic") as? ArithmeticTask)
    XCTAssertEqual(arithmetic.minDigits, 1)
    XCTAssertEqual(arithmetic.maxDigits, 3)
    XCTAssertEqual(arithmetic.operations, [.add])
    XCTAssertFalse(arithmetic.allowNegative)

    let configured = try XCTUnwrap(TaskRegistry.make(
      name: "arithmetic", options: ["minDigits": "2", "maxDigits": "5", "ops": "*-", "allowNegative": "true"]) as? ArithmeticTask)
    XCTAssertEqual(configured.minDigits, 2)
    XCTAssertEqual(configured.maxDigits, 5)
    XCTAssertEqual(configured.operations, [.subtract, .multiply])
    XCTAssertTrue(configured.allowNegative)

    let countdown = try XCTUnwrap(TaskRegistry.make(name: "countdown", options: ["count": "3"]) as? CountdownTask)
    XCTAssertEqual(countdown.name, "countdown")
    XCTAssertEqual([countdown.count, countdown.maxNumber, countdown.maxTarget], [3, 50, 100])
  }

  func testOptionListsMatchWhatMakeAccepts() throws {
    XCTAssertEqual(TaskRegistry.names, ["arithmetic", "countdown", "jsonl"])
    XCTAssertEqual(try TaskRegistry.options(for: "countdown").map(\.name), ["count", "maxNumber", "maxTarget"])
    XCTAssertEqual(try TaskRegistry.options(for: "jsonl").first?.defaultValue, nil)
    // Every documented default is accepted when passed explicitly.
    for name in ["arithmetic", "countdown"] {
      let defaults = try TaskRegistry.options(for: name).reduce(into: [String: String]()) { $0[$1.name] = $1.defaultValue }
      XCTAssertNoThrow(try TaskRegistry.make(name: name, options: defaults))
    }
  }

  func testRegistryDefaultsEqualTheTaskInitializerDefaults() throws {
    let viaRegistry = try XCTUnwrap(TaskRegistry.make(name: "arithmetic") as? ArithmeticTask)
    let direct = try ArithmeticTask()
    XCTAssertEqual(viaRegistry.minDigits, direct.minDigits)
    XCTAssertEqual(viaRegistry.maxDigits, direct.maxDigits)
    XCTAssertEqual(viaRegistry.operations, direct.operations)
    XCTAssertEqual(viaRegistry.allowNegative, direct.allowNegative)
    let countdown = try XCTUnwrap(TaskRegistry.make(name: "countdown") as? CountdownTask)
    let countdownDirect = try CountdownTask()
    XCTAssertEqual([countdown.count, countdown.maxNumber, countdown.maxTarget],
                   [countdownDirect.count, countdownDirect.maxNumber, countdownDirect.maxTarget])
  }

  func testErrorsNameWhatWasWrongAndWhatIsKnown() {
    func message(_ name: String, _ options: [String: String] = [:]) -> String {
      do {
        _ = try TaskRegistry.make(name: name, options: options)
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(message("sudoku"), #"unknown task "sudoku"; known tasks: arithmetic, countdown, jsonl"#)
    XCTAssertEqual(message("countdown", ["size": "4"]),
                   #"task "countdown" has no option "size"; its options: count, maxNumber, maxTarget"#)
    XCTAssertEqual(message("countdown", ["count": "four"]), #"task "countdown": option count="four": expected an integer"#)
    XCTAssertEqual(message("countdown", ["count": "9"]), #"task "countdown": option count="9": expected 2...6"#)
    XCTAssertEqual(message("arithmetic", ["ops": "+/"]),
                   #"task "arithmetic": option ops="+/": expected some of + - * ("/" is not one)"#)
    XCTAssertEqual(message("arithmetic", ["ops": ""]), #"task "arithmetic": option ops="": expected at least one of + - *"#)
    XCTAssertEqual(message("arithmetic", ["allowNegative": "maybe"]),
                   #"task "arithmetic": option allowNegative="maybe": expected true or false"#)
    XCTAssertEqual(message("jsonl"), #"task "jsonl" needs option "path""#)
    XCTAssertTrue(message("jsonl", ["path": "/nonexistent/x.jsonl"]).hasPrefix("/nonexistent/x.jsonl: cannot read file"))
  }

  func testLoadsJSONLThroughTheRegistry() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rlax-tasks-\(UUID().uuidString).jsonl")
    defer { try? FileManager.default.removeItem(at: url) }
    try #"{"prompt": "6*7=", "answer": "42", "verifier": "arithmetic"}"#.write(to: url, atomically: true, encoding: .utf8)
    let task = try TaskRegistry.make(name: "jsonl", options: ["path": url.path])
    let problem = try XCTUnwrap(task.problems(split: Split.containing(prompt: "6*7="), count: 1, seed: 0).first)
    XCTAssertEqual(task.reward(problem: problem, completion: "42 "), 1)
  }
}
