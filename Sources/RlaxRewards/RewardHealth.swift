import Foundation

/// The outcomes of the most recent samples of one reward function, and whether too many of
/// them failed. Thread-safe.
///
/// The share is measured over the last `window` samples: a run stops as soon as more than
/// `maxShare * window` of them failed. Early in a run, with fewer samples than the window, the
/// same count applies, so a function that fails every time stops the run after
/// `floor(maxShare * window) + 1` samples, not after a full window. Once exceeded, the error
/// is kept: every later check throws it too.
final class FailureWindow: @unchecked Sendable {
  private let lock = NSLock()
  private let function: String
  private let limits: RewardLimits
  private var ring: [RewardStats.Warning?]
  private var next = 0
  private var filled = 0
  private var failed = 0
  private var byKind: [RewardStats.Warning: Int] = [:]
  private var tripped: RewardError?

  init(function: String, limits: RewardLimits) {
    self.function = function
    self.limits = limits
    ring = [RewardStats.Warning?](repeating: nil, count: max(1, limits.failureWindow))
  }

  /// Notes one sample: `failure` is nil when it got its function's reward.
  func record(_ failure: RewardStats.Warning?, message: String?) {
    lock.withLock {
      if filled == ring.count, let old = ring[next] {
        failed -= 1
        byKind[old, default: 0] -= 1
      }
      ring[next] = failure
      next = (next + 1) % ring.count
      filled = min(filled + 1, ring.count)
      guard let failure else { return }
      failed += 1
      byKind[failure, default: 0] += 1
      if tripped == nil && Double(failed) > limits.maxFailureShare * Double(ring.count) {
        tripped = .tooManyFailures(RewardFailureSummary(
          function: function, failed: failed, samples: filled, window: ring.count, maxShare: limits.maxFailureShare,
          byKind: Dictionary(uniqueKeysWithValues: byKind.filter { $0.value > 0 }.map { ($0.key.rawValue, $0.value) }),
          last: message ?? failure.rawValue))
      }
    }
  }

  /// Throws ``RewardError/tooManyFailures(_:)`` once the limit has been exceeded.
  func check() throws {
    if let error = lock.withLock({ tripped }) { throw error }
  }
}

/// Prints warning lines as they happen, but not a flood: at most `burst` lines per
/// `intervalSeconds`; the lines held back are counted, and the next line printed says how many
/// were. Thread-safe.
final class RateLimitedWarnings: @unchecked Sendable {
  private let lock = NSLock()
  private let sink: @Sendable (String) -> Void
  private let intervalSeconds: Double
  private let burst: Int
  private var windowStart = Date.distantPast
  private var printedInWindow = 0
  private var suppressed = 0
  private let now: @Sendable () -> Date

  init(intervalSeconds: Double = 10, burst: Int = 3, now: @escaping @Sendable () -> Date = { Date() },
       sink: @escaping @Sendable (String) -> Void) {
    self.intervalSeconds = intervalSeconds
    self.burst = max(1, burst)
    self.now = now
    self.sink = sink
  }

  func warn(_ message: String) {
    let line: String? = lock.withLock {
      let t = now()
      if t.timeIntervalSince(windowStart) >= intervalSeconds {
        windowStart = t
        printedInWindow = 0
      }
      guard printedInWindow < burst else {
        suppressed += 1
        return nil
      }
      printedInWindow += 1
      defer { suppressed = 0 }
      return suppressed > 0 ? "\(message) (\(suppressed) more reward warning\(suppressed == 1 ? "" : "s") not shown)" : message
    }
    if let line { sink(line) }
  }
}

extension RewardGuard {
  /// Writes `rlax: warning: MESSAGE` lines to standard error: the default warning sink. Best
  /// effort: a line that cannot be written (full disk, closed pipe) is dropped, not a trap.
  public static let standardErrorWarnings: @Sendable (String) -> Void = { message in
    try? FileHandle.standardError.write(contentsOf: Data("rlax: warning: \(message)\n".utf8))
  }
}
