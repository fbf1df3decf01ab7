import Foundation

/// Counters a ``RewardGuard`` keeps while scoring, safe to read and update from any thread.
///
/// `scored` counts every sample passed through the guard; each sample that did not get its
/// function's reward (and so scored 0) also counts once in exactly one of `timeouts`,
/// `crashes`, `errors`, `nonFinite` or `outOfRange`, and leaves a message in ``recentWarnings``.
public final class RewardStats: @unchecked Sendable {
  /// A consistent copy of the counters.
  public struct Snapshot: Codable, Equatable, Sendable {
    public var scored = 0
    public var timeouts = 0
    public var crashes = 0
    public var errors = 0
    public var nonFinite = 0
    public var outOfRange = 0
    /// Samples zeroed for any reason: timeouts + crashes + errors + nonFinite + outOfRange.
    public var warnings: Int { timeouts + crashes + errors + nonFinite + outOfRange }
    public init() {}
  }

  /// The kinds of warning.
  public enum Warning: String, Sendable, CaseIterable {
    case timeout, crash, error, nonFinite, outOfRange
  }

  private let lock = NSLock()
  private var counts = Snapshot()
  private var recent: [String] = []
  private let recentLimit: Int
  private let onWarning: (@Sendable (Warning, String) -> Void)?

  /// - Parameters:
  ///   - recentLimit: how many warning messages ``recentWarnings`` keeps (oldest dropped first).
  ///   - onWarning: called (on the scoring thread, outside the lock) with every warning, e.g.
  ///     to log it.
  public init(recentLimit: Int = 64, onWarning: (@Sendable (Warning, String) -> Void)? = nil) {
    self.recentLimit = max(0, recentLimit)
    self.onWarning = onWarning
  }

  public func snapshot() -> Snapshot { lock.withLock { counts } }
  public var scored: Int { snapshot().scored }
  public var timeouts: Int { snapshot().timeouts }
  public var crashes: Int { snapshot().crashes }
  public var errors: Int { snapshot().errors }
  public var nonFinite: Int { snapshot().nonFinite }
  public var outOfRange: Int { snapshot().outOfRange }
  public var warnings: Int { snapshot().warnings }

  /// The most recent warning messages, oldest first.
  public var recentWarnings: [String] { lock.withLock { recent } }

  /// Counts one scored sample.
  public func recordScored() { lock.withLock { counts.scored += 1 } }

  /// Counts one warning of `kind` and remembers `message`.
  public func record(_ kind: Warning, _ message: String) {
    lock.withLock {
      switch kind {
      case .timeout: counts.timeouts += 1
      case .crash: counts.crashes += 1
      case .error: counts.errors += 1
      case .nonFinite: counts.nonFinite += 1
      case .outOfRange: counts.outOfRange += 1
      }
      if recentLimit > 0 {
        recent.append(message)
        if recent.count > recentLimit { recent.removeFirst(recent.count - recentLimit) }
      }
    }
    onWarning?(kind, message)
  }

  /// Zeroes the counters and forgets the messages (e.g. at the start of each logging window).
  public func reset() {
    lock.withLock {
      counts = Snapshot()
      recent = []
    }
  }
}
