import Foundation
import RlaxRewards
import RlaxTasks
import XCTest

struct Failure: Error, CustomStringConvertible {
  var description: String { "verifier exploded" }
}

/// In-process guarding of Swift verifiers.
final class InProcessGuardTests: XCTestCase {
  func testTaskRewardScoresThroughTheGuard() throws {
    let guarded = RewardGuard(TaskReward(try ArithmeticTask()), timeoutSeconds: 2)
    XCTAssertEqual(guarded.mode, .inProcess)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "1+2=", answer: "3"), completion: "3"), 1)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "1+2=", answer: "3"), completion: "4"), 0)
    XCTAssertEqual(guarded.stats.snapshot().scored, 2)
    XCTAssertEqual(guarded.stats.warnings, 0)
  }

  func testSlowVerifierTimesOutAndTheNextCallWorks() {
    let sleepy = ClosureReward(name: "sleepy") { _, completion in
      if completion == "slow" { Thread.sleep(forTimeInterval: 1.5) }
      return 0.75
    }
    let guarded = RewardGuard(sleepy, timeoutSeconds: 0.2)
    let start = Date()
    XCTAssertEqual(guarded.evaluate(problem: Problem(prompt: "p", answer: ""), completion: "slow"), .timedOut)
    XCTAssertLessThan(Date().timeIntervalSince(start), 1.0)
    XCTAssertEqual(guarded.stats.timeouts, 1)
    XCTAssertEqual(guarded.hungThreads, 1)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "p", answer: ""), completion: "fast"), 0.75)
    XCTAssertEqual(guarded.stats.timeouts, 1)
    XCTAssertEqual(guarded.stats.scored, 2)
    XCTAssertTrue(guarded.stats.recentWarnings.first?.contains(#"reward "sleepy" timed out after 0.2 s on prompt "p""#) ?? false,
                  "\(guarded.stats.recentWarnings)")
  }

  func testHungThreadCapScoresZeroWithoutSpawning() {
    let stuck = ClosureReward(name: "stuck") { _, _ in Thread.sleep(forTimeInterval: 1.0); return 1 }
    let guarded = RewardGuard(stuck, timeoutSeconds: 0.05, maxHungThreads: 1)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "p", answer: ""), completion: "x"), 0)
    XCTAssertEqual(guarded.hungThreads, 1)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "p", answer: ""), completion: "x"), 0)
    XCTAssertEqual(guarded.hungThreads, 1, "no second thread was started")
    XCTAssertEqual(guarded.stats.timeouts, 2)
  }

  func testThrowingVerifierCountsAnError() {
    let throwing = ClosureReward(name: "throwing") { _, completion in
      if completion == "bad" { throw Failure() }
      return 1
    }
    let guarded = RewardGuard(throwing, timeoutSeconds: 1)
    XCTAssertEqual(guarded.evaluate(problem: Problem(prompt: "p", answer: ""), completion: "bad"), .failed("verifier exploded"))
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "p", answer: ""), completion: "good"), 1)
    let stats = guarded.stats.snapshot()
    XCTAssertEqual(stats.errors, 1)
    XCTAssertEqual(stats.timeouts, 0)
    XCTAssertEqual(stats.scored, 2)
    XCTAssertTrue(guarded.stats.recentWarnings[0].contains("verifier exploded"))
  }

  func testNonFiniteRewardsScoreZero() {
    let odd = ClosureReward(name: "odd") { _, completion in completion == "nan" ? .nan : -.infinity }
    let guarded = RewardGuard(odd)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "p", answer: ""), completion: "nan"), 0)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "p", answer: ""), completion: "inf"), 0)
    XCTAssertEqual(guarded.stats.nonFinite, 2)
  }

  func testConcurrentCallers() throws {
    let guarded = RewardGuard(TaskReward(try ArithmeticTask()), timeoutSeconds: 5)
    let wrong = Box(0)
    onThreads(4) { t in
      for i in 0..<50 {
        let a = t * 100 + i
        let correct = i % 3 != 0
        let reward = guarded.score(problem: Problem(prompt: "\(a)+1=", answer: "\(a + 1)"),
                                   completion: correct ? "\(a + 1)" : "\(a)")
        if reward != (correct ? 1 : 0) { wrong.update { $0 += 1 } }
      }
    }
    XCTAssertEqual(wrong.value, 0)
    XCTAssertEqual(guarded.stats.scored, 200)
    XCTAssertEqual(guarded.stats.warnings, 0)
  }

  func testConfigPicksTheMode() throws {
    let inProcess = try RewardGuard(config: RewardConfig(timeoutSeconds: 1), task: try ArithmeticTask())
    XCTAssertEqual(inProcess.mode, .inProcess)
    XCTAssertEqual(inProcess.timeoutSeconds, 1)
    let foreign = try RewardGuard(config: RewardConfig(timeoutSeconds: 2, foreign: Fixture.foreign("answer_match", "(cstring completion, cstring answer) -> double")),
                                  task: try ArithmeticTask())
    XCTAssertEqual(foreign.mode, .outOfProcess)
    XCTAssertEqual(foreign.name, "answer_match@rewards.so")
    XCTAssertEqual(foreign.score(problem: Problem(prompt: "1+2=", answer: "3"), completion: "3"), 1)
  }
}

/// Foreign functions in rlax-reward-host child processes.
final class OutOfProcessGuardTests: XCTestCase {
  func makeGuard(_ symbol: String, _ signature: String, timeout: Double = 5, maxProcesses: Int = 2) throws -> RewardGuard {
    try RewardGuard(foreign: Fixture.foreign(symbol, signature), timeoutSeconds: timeout, maxProcesses: maxProcesses)
  }

  func testScoresThroughTheHost() throws {
    let guarded = try makeGuard("sum_reward", "(cstring prompt, cstring completion) -> double")
    XCTAssertEqual(guarded.mode, .outOfProcess)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "2+3=", answer: "5"), completion: "5"), 1)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "2+3=", answer: "5"), completion: "6"), 0)
    let lengths = try makeGuard("length_reward", "(cstring completion) -> int32")
    XCTAssertEqual(lengths.score(problem: Problem(prompt: "", answer: ""), completion: "line one\nline \"two\"\u{1F600}"), 23)
    let positions = try makeGuard("positions", "(cstring answer, cstring prompt, cstring completion) -> double")
    XCTAssertEqual(positions.score(problem: Problem(prompt: "1", answer: "3"), completion: "2"), 312)
    XCTAssertEqual(guarded.stats.warnings + lengths.stats.warnings + positions.stats.warnings, 0)
  }

  func testHangTimesOutAndTheHostIsRestarted() throws {
    let hanging = try makeGuard("hang", "(cstring prompt, cstring completion) -> double", timeout: 0.3, maxProcesses: 1)
    let start = Date()
    XCTAssertEqual(hanging.evaluate(problem: Problem(prompt: "1+1=", answer: "2"), completion: "2"), .timedOut)
    XCTAssertLessThan(Date().timeIntervalSince(start), 1.5)
    XCTAssertEqual(hanging.stats.timeouts, 1)
    XCTAssertEqual(hanging.runningProcesses, 0, "the hung child was killed")
    XCTAssertTrue(hanging.stats.recentWarnings[0].contains(#"reward "hang@rewards.so" timed out after 0.3 s on prompt "1+1=""#),
                  "\(hanging.stats.recentWarnings)")

    // The call after a timeout gets a fresh child and works.
    let moody = try makeGuard("moody", "(cstring completion, cstring answer) -> double", timeout: 0.3, maxProcesses: 1)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "yes"), 1)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "hang"), 0)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "yes"), 1)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "no"), 0)
    let stats = moody.stats.snapshot()
    XCTAssertEqual(stats.timeouts, 1)
    XCTAssertEqual(stats.crashes + stats.errors + stats.nonFinite, 0)
    XCTAssertEqual(stats.scored, 4)
  }

  func testClientRestartsAfterTimeoutForTheNextRequest() throws {
    let client = try ForeignRewardClient(config: Fixture.foreign("moody", "(cstring completion, cstring answer) -> double"))
    let firstPID = try XCTUnwrap(client.processIdentifier)
    XCTAssertEqual(client.evaluate(prompt: "", completion: "a", answer: "a", timeoutSeconds: 2), .value(1))
    XCTAssertEqual(client.evaluate(prompt: "", completion: "hang", answer: "a", timeoutSeconds: 0.2), .timedOut)
    XCTAssertNil(client.processIdentifier)
    XCTAssertEqual(kill(firstPID, 0), -1, "the hung child is gone")
    XCTAssertEqual(client.evaluate(prompt: "", completion: "a", answer: "a", timeoutSeconds: 2), .value(1))
    XCTAssertNotEqual(client.processIdentifier, firstPID)
    client.close()
    XCTAssertEqual(client.evaluate(prompt: "", completion: "a", answer: "a", timeoutSeconds: 2), .failed("the reward client is closed"))
  }

  func testCrashScoresZeroAndTheNextCallWorks() throws {
    let crashing = try makeGuard("crash", "(cstring prompt, cstring completion) -> double", maxProcesses: 1)
    let start = Date()
    guard case .crashed(let how) = crashing.evaluate(problem: Problem(prompt: "1+1=", answer: "2"), completion: "2") else {
      return XCTFail("expected a crash, got \(crashing.stats.recentWarnings)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    XCTAssertTrue(how.contains("signal 11"), how)
    XCTAssertEqual(crashing.stats.crashes, 1)
    XCTAssertEqual(crashing.stats.scored, 1)
    XCTAssertTrue(crashing.stats.recentWarnings[0].contains("crashed: the reward host was killed by signal 11"), "\(crashing.stats.recentWarnings)")

    let moody = try makeGuard("moody", "(cstring completion, cstring answer) -> double", maxProcesses: 1)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "crash"), 0)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "yes"), 1)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "crash"), 0)
    XCTAssertEqual(moody.score(problem: Problem(prompt: "p", answer: "yes"), completion: "yes"), 1)
    XCTAssertEqual(moody.stats.crashes, 2)
    XCTAssertEqual(moody.stats.warnings, 2)
  }

  func testClientWorksAfterItsChildDies() throws {
    let client = try ForeignRewardClient(config: Fixture.foreign("sum_reward", "(cstring prompt, cstring completion) -> double"))
    let pid = try XCTUnwrap(client.processIdentifier)
    kill(pid, SIGSEGV)
    guard case .crashed = client.evaluate(prompt: "1+1=", completion: "2", answer: "", timeoutSeconds: 2) else {
      return XCTFail("expected the dead child to be reported as a crash")
    }
    XCTAssertEqual(client.evaluate(prompt: "1+1=", completion: "2", answer: "", timeoutSeconds: 2), .value(1))
  }

  func testNonFiniteAndNoisyFunctions() throws {
    let nan = try makeGuard("nan_reward", "(cstring, cstring) -> double")
    XCTAssertEqual(nan.score(problem: Problem(prompt: "p", answer: ""), completion: "c"), 0)
    XCTAssertEqual(nan.stats.nonFinite, 1)
    XCTAssertTrue(nan.stats.recentWarnings[0].contains("returned nan"), "\(nan.stats.recentWarnings)")
    let inf = try makeGuard("inf_reward", "(cstring completion) -> double")
    XCTAssertEqual(inf.evaluate(problem: Problem(prompt: "p", answer: ""), completion: "c"), .nonFinite(.infinity))
    // A library printing to stdout cannot corrupt the protocol.
    let noisy = try makeGuard("noisy", "(cstring completion) -> double")
    for _ in 0..<3 { XCTAssertEqual(noisy.score(problem: Problem(prompt: "p", answer: ""), completion: "c"), 0.5) }
    XCTAssertEqual(noisy.stats.warnings, 0)
  }

  func testSetupErrorsNameTheLibraryAndSymbol() throws {
    XCTAssertThrowsMessage(try RewardGuard(foreign: ForeignRewardConfig(library: "/nonexistent/libnothing.so", symbol: "f", signature: "() -> double")),
                           contains: ["/nonexistent/libnothing.so"])
    let notALibrary = try Fixture.library().replacingOccurrences(of: "rewards.so", with: "not-elf.so")
    try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: notALibrary))
    XCTAssertThrowsMessage(try RewardGuard(foreign: ForeignRewardConfig(library: notALibrary, symbol: "f", signature: "() -> double")),
                           contains: ["reward host failed to start", notALibrary])
    XCTAssertThrowsMessage(try makeGuard("no_such_reward", "(cstring completion) -> double"),
                           contains: ["reward host failed to start", #"has no symbol "no_such_reward""#, "rewards.so"])
    XCTAssertThrowsMessage(try makeGuard("sum_reward", "(cstring prompt, cstrin completion) -> double"),
                           contains: [#"unknown type "cstrin" at argument 2"#])
    XCTAssertThrowsMessage(try ForeignRewardClient(config: Fixture.foreign("sum_reward", "(cstring) -> double"), hostExecutable: "/nonexistent/rlax-reward-host"),
                           contains: ["reward host executable not found", "/nonexistent/rlax-reward-host"])
  }

  func testConcurrentCallersGetTheirOwnChildren() throws {
    let guarded = try makeGuard("sum_reward", "(cstring prompt, cstring completion) -> double", maxProcesses: 4)
    let wrong = Box([String]())
    onThreads(4) { t in
      for i in 0..<50 {
        let a = t * 1000 + i
        let correct = (i + t) % 2 == 0
        let reward = guarded.score(problem: Problem(prompt: "\(a)+\(i)=", answer: ""), completion: correct ? "\(a + i)" : "\(a + i + 1)")
        if reward != (correct ? 1 : 0) { wrong.update { $0.append("thread \(t) sample \(i): \(reward)") } }
      }
    }
    XCTAssertEqual(wrong.value, [])
    XCTAssertEqual(guarded.stats.scored, 200)
    XCTAssertEqual(guarded.stats.warnings, 0, "\(guarded.stats.recentWarnings)")
    XCTAssertLessThanOrEqual(guarded.runningProcesses, 4)
    guarded.close()
    XCTAssertEqual(guarded.runningProcesses, 0)
    XCTAssertEqual(guarded.score(problem: Problem(prompt: "1+1=", answer: ""), completion: "2"), 0)
    XCTAssertEqual(guarded.stats.errors, 1)
  }
}
