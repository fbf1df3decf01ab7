import Foundation
import RlaxRewards
import RlaxTasks
import RlaxTestSupport
import XCTest

/// The fixture library, compiled once per test process with plain `cc -shared -fPIC`.
enum Fixture {
  private static let compiled: Result<String, Error> = Result {
    try TestSupport.compilePlugin(["Tests/Fixtures/rewards/rewards.c"], name: "rewards")
  }

  static func library() throws -> String { try compiled.get() }

  static func foreign(_ symbol: String, _ signature: String) throws -> ForeignRewardConfig {
    ForeignRewardConfig(library: try library(), symbol: symbol, signature: signature)
  }

  static func problem(_ prompt: String, answer: String = "") -> Problem {
    Problem(prompt: prompt, answer: answer)
  }
}

/// Runs `body` on `threads` threads at once and waits for all of them.
func onThreads(_ threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
  let group = DispatchGroup()
  for t in 0..<threads {
    group.enter()
    Thread {
      body(t)
      group.leave()
    }.start()
  }
  group.wait()
}

final class Box<T>: @unchecked Sendable {
  private let lock = NSLock()
  private var storage: T
  init(_ value: T) { storage = value }
  func update(_ f: (inout T) -> Void) { lock.withLock { f(&storage) } }
  var value: T { lock.withLock { storage } }
}

func XCTAssertThrowsMessage(_ expression: @autoclosure () throws -> Any, contains parts: [String],
                            file: StaticString = #filePath, line: UInt = #line) {
  do {
    _ = try expression()
    XCTFail("expected an error containing \(parts)", file: file, line: line)
  } catch {
    let message = "\(error)"
    for part in parts where !message.contains(part) {
      XCTFail("error \(message.debugDescription) does not contain \(part.debugDescription)", file: file, line: line)
    }
  }
}
