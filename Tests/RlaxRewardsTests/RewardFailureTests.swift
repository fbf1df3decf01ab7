import Foundation
@testable import RlaxRewards
import RlaxTasks
import XCTest

/// Loud reward failures: a warning line per failure as it happens (rate-limited), a run-ending
/// error when too many recent samples fail, and out-of-range or non-finite values as failures
/// naming the function.
final class RewardFailureTests: XCTestCase {
  let problem = Problem(prompt: "1+2=", answer: "3")

  func flaky(_ calls: Box<Int>? = nil) -> ClosureReward {
    ClosureReward(name: "flaky") { _, completion in
      calls?.update { $0 += 1 }
      if completion == "bad" { throw Failure() }
      return 1
    }
  }

  func testEachFailurePrintsAWarningLineNamingTheFunctionAndTheReason() {
    let lines = Box<[String]>([])
    let guarded = RewardGuard(flaky(), timeoutSeconds: 2, warnings: { line in lines.update { $0.append(line) } })
    XCTAssertEqual(guarded.score(problem: problem, completion: "good"), 1)
    XCTAssertEqual(lines.value, [], "a sample that scores prints nothing")
    XCTAssertEqual(guarded.score(problem: problem, completion: "bad"), 0)
    XCTAssertEqual(lines.value, [#"reward "flaky" failed on prompt "1+2=": verifier exploded; scored 0"#])

    let slow = RewardGuard(ClosureReward(name: "slow") { _, _ in Thread.sleep(forTimeInterval: 0.5); return 1 },
                           timeoutSeconds: 0.05, warnings: { line in lines.update { $0.append(line) } })
    XCTAssertEqual(slow.score(problem: problem, completion: "x"), 0)
    XCTAssertTrue(lines.value.last?.contains(#"reward "slow" timed out after 0.05 s on prompt "1+2=""#) ?? false, "\(lines.value)")
  }

  func testWarningLinesAreRateLimitedAndCountWhatWasHeldBack() {
    let lines = Box<[String]>([])
    let clock = Box<Date>(Date(timeIntervalSince1970: 1000))
    let log = RateLimitedWarnings(intervalSeconds: 10, burst: 3, now: { clock.value }, sink: { line in lines.update { $0.append(line) } })
    for i in 0..<50 { log.warn("w\(i)") }
    XCTAssertEqual(lines.value, ["w0", "w1", "w2"], "a burst of 3 lines, then silence")
    clock.update { $0 += 10 }
    log.warn("w50")
    XCTAssertEqual(lines.value.last, "w50 (47 more reward warnings not shown)")
    log.warn("w51")
    XCTAssertEqual(lines.value.last, "w51", "the count is reported once")

    // Through a guard: 20 failures in a row print 3 lines, not 20.
    let printed = Box<[String]>([])
    let guarded = RewardGuard(flaky(), timeoutSeconds: 2, limits: .lenient, warnings: { line in printed.update { $0.append(line) } })
    for _ in 0..<20 { _ = guarded.score(problem: problem, completion: "bad") }
    XCTAssertEqual(printed.value.count, 3)
    XCTAssertEqual(guarded.stats.errors, 20, "every failure is still counted")
  }

  func testTooManyFailuresStopWithAnErrorNamingTheFunctionTheShareAndTheLastFailure() throws {
    let calls = Box(0)
    let guarded = RewardGuard(flaky(calls), timeoutSeconds: 2, limits: RewardLimits(maxFailureShare: 0.5, failureWindow: 10), warnings: nil)
    // 5 of a 10-sample window is not more than 50%.
    for _ in 0..<5 { XCTAssertEqual(try guarded.scoreChecked(problem: problem, completion: "bad"), 0) }
    XCTAssertNoThrow(try guarded.checkHealth())
    do {
      _ = try guarded.scoreChecked(problem: problem, completion: "bad")
      XCTFail("the 6th failure of a 10-sample window with maxFailureShare 0.5 must stop the run")
    } catch let error as RewardError {
      guard case .tooManyFailures(let summary) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(summary.failed, 6)
      XCTAssertEqual(summary.samples, 6)
      XCTAssertEqual(summary.byKind, ["error": 6])
      let message = "\(error)"
      for part in [#"reward function "flaky" failed on 6 of the last 6 samples (100%"#, "above 50% of 10",
                   "rl.reward.maxFailureShare", "errors 6",
                   #"last: reward "flaky" failed on prompt "1+2=": verifier exploded"#] {
        XCTAssertTrue(message.contains(part), "\(message.debugDescription) lacks \(part.debugDescription)")
      }
    }
    // From then on every call throws at once, without calling the function.
    let before = calls.value
    XCTAssertThrowsError(try guarded.scoreChecked(problem: problem, completion: "good"))
    XCTAssertEqual(calls.value, before)
    // score() itself never throws.
    XCTAssertEqual(guarded.score(problem: problem, completion: "good"), 1)
  }

  func testTheShareIsMeasuredOverASlidingWindow() throws {
    let guarded = RewardGuard(flaky(), timeoutSeconds: 2, limits: RewardLimits(maxFailureShare: 0.5, failureWindow: 4), warnings: nil)
    // bad, bad, good, good, bad, bad, good, good, ...: never more than 2 of any 4.
    for i in 0..<40 {
      XCTAssertNoThrow(try guarded.scoreChecked(problem: problem, completion: i % 4 < 2 ? "bad" : "good"), "sample \(i)")
    }
    // Three in a row are 3 of the last 4.
    XCTAssertNoThrow(try guarded.scoreChecked(problem: problem, completion: "bad"))
    XCTAssertNoThrow(try guarded.scoreChecked(problem: problem, completion: "bad"))
    XCTAssertThrowsError(try guarded.scoreChecked(problem: problem, completion: "bad")) { error in
      XCTAssertTrue("\(error)".contains("failed on 3 of the last 4 samples (75%"), "\(error)")
    }
  }

  func testMaxFailureShareOneNeverStops() throws {
    let guarded = RewardGuard(flaky(), timeoutSeconds: 2, limits: RewardLimits(maxFailureShare: 1, failureWindow: 2), warnings: nil)
    for _ in 0..<10 { XCTAssertEqual(try guarded.scoreChecked(problem: problem, completion: "bad"), 0) }
  }

  func testOutOfRangeRewardsFailTheSampleNamingTheFunctionAndTheRange() throws {
    let lines = Box<[String]>([])
    let huge = try RewardGuard(foreign: Fixture.foreign("huge_reward", "(cstring completion) -> double"),
                               warnings: { line in lines.update { $0.append(line) } })
    XCTAssertEqual(huge.evaluate(problem: problem, completion: "c"), .outOfRange(1e300))
    XCTAssertEqual(huge.score(problem: problem, completion: "c"), 0, "never 1e300, which is inf as a float32 reward")
    XCTAssertEqual(huge.stats.outOfRange, 2)
    XCTAssertEqual(lines.value.first,
                   #"reward "huge_reward@rewards.so" returned 1e+300 on prompt "1+2=", outside the allowed -1000000.0...1000000.0 (rl.reward.minReward, rl.reward.maxReward); scored 0"#)

    // In process, with a configured range.
    let guarded = RewardGuard(ClosureReward(name: "scaled") { _, c in Double(c)! }, timeoutSeconds: 2,
                              limits: RewardLimits(minReward: -1, maxReward: 1), warnings: nil)
    XCTAssertEqual(guarded.evaluate(problem: problem, completion: "1"), .value(1))
    XCTAssertEqual(guarded.evaluate(problem: problem, completion: "-1"), .value(-1))
    XCTAssertEqual(guarded.evaluate(problem: problem, completion: "1.5"), .outOfRange(1.5))
    XCTAssertTrue(guarded.stats.recentWarnings[0].contains(#"reward "scaled" returned 1.5"#), "\(guarded.stats.recentWarnings)")
  }

  func testNonFiniteRewardsPrintAWarningNamingTheFunctionAndCountAsFailures() throws {
    let lines = Box<[String]>([])
    let nan = try RewardGuard(foreign: Fixture.foreign("nan_reward", "(cstring, cstring) -> double"),
                              limits: RewardLimits(maxFailureShare: 0.5, failureWindow: 2),
                              warnings: { line in lines.update { $0.append(line) } })
    XCTAssertEqual(try nan.scoreChecked(problem: problem, completion: "c"), 0)
    XCTAssertEqual(lines.value, [#"reward "nan_reward@rewards.so" returned nan on prompt "1+2="; scored 0 (rewards must be finite)"#])
    XCTAssertThrowsError(try nan.scoreChecked(problem: problem, completion: "c")) { error in
      XCTAssertTrue("\(error)".contains(#"reward function "nan_reward@rewards.so" failed on 2 of the last 2 samples"#), "\(error)")
      XCTAssertTrue("\(error)".contains("non-finite 2"), "\(error)")
    }
  }

  func testHangingForeignFunctionStopsTheRunWithTimeoutsCounted() throws {
    let guarded = try RewardGuard(foreign: Fixture.foreign("mostly_hangs", "(cstring completion) -> double"), timeoutSeconds: 0.2,
                                  maxProcesses: 1, limits: RewardLimits(maxFailureShare: 0.5, failureWindow: 4), warnings: nil)
    XCTAssertEqual(try guarded.scoreChecked(problem: problem, completion: "ok"), 1)
    XCTAssertEqual(try guarded.scoreChecked(problem: problem, completion: "x"), 0)
    XCTAssertEqual(try guarded.scoreChecked(problem: problem, completion: "x"), 0)
    XCTAssertThrowsError(try guarded.scoreChecked(problem: problem, completion: "x")) { error in
      let message = "\(error)"
      XCTAssertTrue(message.contains(#"reward function "mostly_hangs@rewards.so" failed on 3 of the last 4 samples (75%"#), message)
      XCTAssertTrue(message.contains("timeouts 3"), message)
      XCTAssertTrue(message.contains("timed out after 0.2 s"), message)
    }
  }

  func testRewardConfigCarriesAndValidatesTheLimits() throws {
    let decoded = try JSONDecoder().decode(RewardConfig.self, from: Data(#"{"maxFailureShare": 0.25, "failureWindow": 64, "minReward": 0, "maxReward": 1}"#.utf8))
    XCTAssertEqual(decoded.limits, RewardLimits(minReward: 0, maxReward: 1, maxFailureShare: 0.25, failureWindow: 64))
    XCTAssertEqual(RewardConfig().limits, RewardLimits(minReward: -1e6, maxReward: 1e6, maxFailureShare: 0.5, failureWindow: 256))
    func rejects(_ json: String, _ parts: [String]) throws {
      let config = try JSONDecoder().decode(RewardConfig.self, from: Data(json.utf8))
      XCTAssertThrowsMessage(try config.validate(), contains: parts)
    }
    try rejects(#"{"maxFailureShare": 1.5}"#, ["maxFailureShare", "must be in 0...1, got 1.5"])
    try rejects(#"{"failureWindow": 0}"#, ["failureWindow", "must be in 1...1000000, got 0"])
    try rejects(#"{"minReward": 2, "maxReward": 1}"#, ["maxReward", ">= minReward (2.0), got 1.0"])
    // The guard a run builds takes them from the config.
    var config = RewardConfig(timeoutSeconds: 1)
    config.failureWindow = 8
    let guarded = try RewardGuard(config: config, task: try ArithmeticTask(), warnings: nil)
    XCTAssertEqual(guarded.limits.failureWindow, 8)
  }
}
