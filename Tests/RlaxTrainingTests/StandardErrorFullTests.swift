import Foundation
import RlaxRewards
import RlaxTraining
import XCTest

/// Progress and warning lines are best effort: with standard error on a full disk
/// (/dev/full: every write fails with ENOSPC) they are dropped. `FileHandle.write(_:)` traps on
/// a failed write, which ended the whole process over a progress line.
final class StandardErrorFullTests: XCTestCase {
  func testProgressAndRewardWarningLinesSurviveAFullDisk() throws {
    let full = open("/dev/full", O_WRONLY)
    guard full >= 0 else { throw XCTSkip("/dev/full is not available") }
    let saved = dup(STDERR_FILENO)
    XCTAssertGreaterThanOrEqual(saved, 0)
    XCTAssertEqual(dup2(full, STDERR_FILENO), STDERR_FILENO)
    defer {
      dup2(saved, STDERR_FILENO)
      close(saved)
      close(full)
    }
    let bar = ProgressBar(total: 2, label: "sft")
    bar.update(1, "loss 1.0")
    bar.update(2, "loss 0.5")
    RewardGuard.standardErrorWarnings("reward \"x\" timed out")
    ProgressBar(total: 1, label: "quiet", quiet: true).update(1, "nothing")
  }
}
