import Foundation
@testable import RlaxRuntime
import RlaxTestSupport
import RlaxTraining
import XCTest

/// The controller's ledger: leases with deadlines, one accepted result per item, late and
/// duplicate results dropped and counted, and a journal from which a restart rebuilds the
/// same state, groups bit for bit.
final class RolloutLedgerTests: XCTestCase {
  func plan(promptsPerStep: Int = 2, groupSize: Int = 2) throws -> Controller {
    var config = RunConfig.defaults()
    config.rl.promptsPerStep = promptsPerStep
    config.rl.groupSize = groupSize
    config.rl.sampler.maxNewTokens = 4
    config.rl.maxRefills = 1
    return Controller(config: config.rl, task: try config.task.make())
  }

  /// A group the plan could have produced, with values that differ per item and worker.
  func group(_ plan: Controller, step: Int, index: Int, worker: String = "worker-0") throws -> GroupRollout {
    let item = try plan.workItem(step: step, index: index)
    let g = plan.config.groupSize
    let tokens = (0..<g).map { j in (0..<(1 + (step + index + j) % 4)).map { Int32(4 + ($0 + j + index) % 10) } }
    return GroupRollout(item: item, version: item.version, completions: tokens,
                        samplerLogprobs: tokens.map { $0.map { -Float($0) / 7 - 0.1 * Float.ulpOfOne } },
                        texts: [], rewards: (0..<g).map { Double(($0 + index) % 2) }, worker: worker, started: Date(), seconds: 0.01)
  }

  func leaseItem(_ ledger: RolloutLedger, _ worker: WorkerID) throws -> (UInt64, Int, Int) {
    guard case .item(let id, let step, let index) = try ledger.tryLease(worker: worker) else {
      throw SupportError("no item to lease")
    }
    return (id, step, index)
  }

  func testEachItemIsLeasedOnceAndItsGroupAcceptedOnce() throws {
    let plan = try plan()
    let ledger = try RolloutLedger(plan: plan, leaseSeconds: 60)
    let a = ledger.register(name: "worker-0"), b = ledger.register(name: "worker-1")
    try ledger.issue(step: 0, indices: 0..<2)
    let (l1, s1, i1) = try leaseItem(ledger, a)
    let (l2, s2, i2) = try leaseItem(ledger, b)
    XCTAssertEqual([s1, s2], [0, 0])
    XCTAssertEqual(Set([i1, i2]), [0, 1], "two workers get two different items")
    XCTAssertEqual(try ledger.tryLease(worker: a), .idle, "nothing else is pending")
    XCTAssertNil(try ledger.tryCollect(step: 0, indices: 0..<2), "not all groups are in")
    XCTAssertEqual(try ledger.report(lease: l1, rollout: try group(plan, step: 0, index: i1)), .accepted)
    XCTAssertEqual(try ledger.report(lease: l1, rollout: try group(plan, step: 0, index: i1)), .duplicate, "the same report twice")
    XCTAssertEqual(try ledger.report(lease: l2, rollout: try group(plan, step: 0, index: i2)), .accepted)
    let groups = try XCTUnwrap(try ledger.tryCollect(step: 0, indices: 0..<2))
    XCTAssertEqual(groups.map(\.item.index), [0, 1])
    XCTAssertEqual(try ledger.collect(step: 0, indices: 0..<2).map(\.completions), groups.map(\.completions), "asked again, the same groups")
    let counters = try ledger.finish()
    XCTAssertEqual(counters.issued, 2)
    XCTAssertEqual(counters.leases, 2)
    XCTAssertEqual(counters.accepted, 2)
    XCTAssertEqual(counters.duplicateResults, 1)
    XCTAssertEqual(counters.regenerated, 0)
    XCTAssertEqual(try ledger.tryLease(worker: a), .finished)
  }

  func testAnExpiredLeaseIsLeasedAgainAndItsLateResultDropped() throws {
    let plan = try plan(promptsPerStep: 1)
    let ledger = try RolloutLedger(plan: plan, leaseSeconds: 0.2)
    let stalled = ledger.register(name: "worker-0"), healthy = ledger.register(name: "worker-1")
    try ledger.issue(step: 0, indices: 0..<1)
    let (first, _, _) = try leaseItem(ledger, stalled)
    XCTAssertEqual(try ledger.tryLease(worker: healthy), .idle)
    XCTAssertTrue(try ledger.renew(lease: first), "a live lease renews")
    usleep(300_000)  // the stalled worker neither renews nor reports
    let (second, step, index) = try leaseItem(ledger, healthy)
    XCTAssertNotEqual(second, first)
    XCTAssertEqual([step, index], [0, 0], "the expired item goes to the next worker")
    XCTAssertFalse(try ledger.renew(lease: first), "the expired lease does not come back")
    XCTAssertEqual(try ledger.report(lease: first, rollout: try group(plan, step: 0, index: 0, worker: "worker-0")), .late)
    XCTAssertNil(try ledger.tryCollect(step: 0, indices: 0..<1), "the late result was dropped")
    XCTAssertEqual(try ledger.report(lease: second, rollout: try group(plan, step: 0, index: 0, worker: "worker-1")), .accepted)
    XCTAssertEqual(try ledger.collect(step: 0, indices: 0..<1).first?.worker, "worker-1")
    let c = ledger.currentCounters
    XCTAssertEqual([c.leases, c.expiredLeases, c.regenerated, c.lateResults, c.accepted], [2, 1, 1, 1, 1])
  }

  func testARestartedWorkersEarlierLeasesAreVoid() throws {
    let plan = try plan(promptsPerStep: 1)
    let ledger = try RolloutLedger(plan: plan, leaseSeconds: 60)
    let before = ledger.register(name: "worker-0")
    try ledger.issue(step: 0, indices: 0..<1)
    let (lease, _, _) = try leaseItem(ledger, before)
    let after = ledger.register(name: "worker-0")
    XCTAssertThrowsError(try ledger.tryLease(worker: before), "the old incarnation is superseded") {
      XCTAssertTrue("\($0)".contains("worker-0 registered again"), "\($0)")
    }
    guard case .item(let again, 0, 0) = try ledger.tryLease(worker: after) else { return XCTFail("the item is leased again at once") }
    XCTAssertEqual(try ledger.report(lease: lease, rollout: try group(plan, step: 0, index: 0)), .late)
    XCTAssertEqual(try ledger.report(lease: again, rollout: try group(plan, step: 0, index: 0)), .accepted)
  }

  func testBadRequestsAreErrorsThatNameWhatWasWrong() throws {
    let plan = try plan()
    let ledger = try RolloutLedger(plan: plan, leaseSeconds: 60)
    let w = ledger.register(name: "worker-0")
    XCTAssertThrowsError(try ledger.issue(step: 0, indices: 0..<9)) { XCTAssertTrue("\($0)".contains("outside 0..<4"), "\($0)") }
    XCTAssertThrowsError(try ledger.issue(step: -1, indices: 0..<1)) { XCTAssertTrue("\($0)".contains("step -1"), "\($0)") }
    XCTAssertThrowsError(try ledger.report(lease: 99, rollout: try group(plan, step: 0, index: 0))) {
      XCTAssertEqual("\($0)", "lease 99 was never granted")
    }
    try ledger.issue(step: 0, indices: 0..<2)
    let (lease, step, index) = try leaseItem(ledger, w)
    var wrong = try group(plan, step: step, index: index)
    wrong.completions[0] = [Int32](repeating: 5, count: 9)
    wrong.samplerLogprobs[0] = [Float](repeating: -1, count: 9)
    XCTAssertThrowsError(try ledger.report(lease: lease, rollout: wrong)) { XCTAssertTrue("\($0)".contains("more than sampler.maxNewTokens = 4"), "\($0)") }
    wrong = try group(plan, step: step, index: index)
    wrong.completions.removeLast()
    XCTAssertThrowsError(try ledger.report(lease: lease, rollout: wrong)) { XCTAssertTrue("\($0)".contains("expected 2 of each"), "\($0)") }
    wrong = try group(plan, step: step, index: index)
    wrong.completions[1][0] = 10_000
    XCTAssertThrowsError(try ledger.report(lease: lease, rollout: wrong)) { XCTAssertTrue("\($0)".contains("holds token 10000"), "\($0)") }
    wrong = try group(plan, step: step, index: index)
    wrong.rewards[0] = .nan
    XCTAssertThrowsError(try ledger.report(lease: lease, rollout: wrong)) { XCTAssertTrue("\($0)".contains("non-finite"), "\($0)") }
    XCTAssertThrowsError(try ledger.report(lease: lease, rollout: try group(plan, step: step, index: 1 - index))) {
      XCTAssertTrue("\($0)".contains("lease \(lease) is for step 0 prompt \(index)"), "\($0)")
    }
    XCTAssertEqual(try ledger.report(lease: lease, rollout: try group(plan, step: step, index: index)), .accepted, "refusals changed nothing")
  }

  func testARestartFromTheJournalResumesWithTheSameGroupsBitForBit() throws {
    let plan = try plan()
    let dir = try TestSupport.temporaryDirectory("journal")
    let journal = dir.appendingPathComponent("journal.jsonl")
    var expected: [[Float]] = []
    var held: UInt64 = 0
    do {
      let ledger = try RolloutLedger(plan: plan, leaseSeconds: 60, journal: journal)
      let w = ledger.register(name: "worker-0")
      try ledger.issue(step: 0, indices: 0..<2)
      try ledger.issue(step: 1, indices: 0..<2)
      for _ in 0..<2 {
        let (lease, step, index) = try leaseItem(ledger, w)
        XCTAssertEqual(try ledger.report(lease: lease, rollout: try group(plan, step: step, index: index)), .accepted)
      }
      expected = try ledger.collect(step: 0, indices: 0..<2).flatMap(\.samplerLogprobs)
      (held, _, _) = try leaseItem(ledger, w)  // step 1 prompt 0, in flight when the controller dies
    }
    // A kill mid-write leaves a torn last line: it is dropped.
    let handle = try FileHandle(forWritingTo: journal)
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(#"{"issue":{"step":7,"ind"#.utf8))
    try handle.close()
    let restarted = try RolloutLedger(plan: plan, leaseSeconds: 60, journal: journal)
    let groups = try XCTUnwrap(try restarted.tryCollect(step: 0, indices: 0..<2))
    XCTAssertEqual(groups.flatMap(\.samplerLogprobs).map { $0.map(\.bitPattern) }, expected.map { $0.map(\.bitPattern) })
    XCTAssertEqual(restarted.currentCounters.restarts, 1)
    XCTAssertEqual(restarted.currentCounters.accepted, 2)
    // The lease held across the restart is still good; the other step-1 item is still pending.
    XCTAssertEqual(try restarted.report(lease: held, rollout: try group(plan, step: 1, index: 0)), .accepted)
    let w = restarted.register(name: "worker-1")
    let (lease, step, index) = try leaseItem(restarted, w)
    XCTAssertEqual([step, index], [1, 1])
    XCTAssertGreaterThan(lease, held, "lease numbers are never reused")
    XCTAssertEqual(try restarted.report(lease: lease, rollout: try group(plan, step: 1, index: 1)), .accepted)

    // Release compacts the journal to what is still held; a restart from it sees the same.
    let sizeBefore = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: journal.path)[.size] as? Int)
    try restarted.release(before: 1)
    let sizeAfter = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: journal.path)[.size] as? Int)
    XCTAssertLessThan(sizeAfter, sizeBefore)
    let again = try RolloutLedger(plan: plan, leaseSeconds: 60, journal: journal)
    XCTAssertEqual(try again.tryCollect(step: 1, indices: 0..<2)?.map(\.item.index), [0, 1])
    XCTAssertEqual(again.currentCounters.accepted, 4)
    XCTAssertEqual(again.currentCounters.restarts, 2)
    // A released step asked for again is issued anew (and counted as regenerated).
    XCTAssertNil(try again.tryCollect(step: 0, indices: 0..<1))
    XCTAssertEqual(again.currentCounters.regenerated, 1)

    // A damaged line that is not the last is an error naming the file and line.
    var lines = try String(contentsOf: journal, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    lines[1] = "{not json"
    try lines.joined(separator: "\n").write(to: journal, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try RolloutLedger(plan: plan, leaseSeconds: 60, journal: journal)) {
      XCTAssertTrue("\($0)".contains("\(journal.path):2: not a journal record"), "\($0)")
    }
  }
}
